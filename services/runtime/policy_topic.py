"""Reading `assist.policy` whole at a processor's start, before any other input.

A processor that judges households must know every approved version before it judges
anything: a processor that replays its inputs meets messages of different topics in another
order than the first time (a signal judged before the approval in force on its date would
open another warned household), and one that starts at its committed offsets would forget
the versions altogether. Folding is idempotent, so meeting those events again as input
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from events.codec import DecodeError, decode_event
from services.rules.versions import PolicyVersions
from services.runtime.kafka import ConsumerRecord, read_to_end
from services.runtime.logging import get_logger

log = get_logger()


async def read_policy_topic(
    consumer_factory: Callable[[], AIOKafkaConsumer],
    topic: str,
    versions: PolicyVersions,
    fold: Callable[[bytes | None], object] | None = None,
) -> int:
    """Fold every event of `topic` into `versions` (or through `fold`, a handler's own way of
    taking a policy message); how many were read. An unreadable message is skipped here: met
    again as input, it goes to the dead letters."""

    def take(record: ConsumerRecord) -> None:
        try:
            if fold is not None:
                fold(record.value)
            else:
                versions.fold(decode_event(record.value))
        except (DecodeError, LookupError, ValueError) as error:
            log.warning("unreadable policy message skipped", reason=str(error))

    consumer = consumer_factory()
    await consumer.start()
    try:
        count = await read_to_end(consumer, topic, take)
        log.info(
            "policy versions read",
            events=count,
            versions=[v.policy_version for v in versions.book.versions],
        )
        return count
    finally:
        await consumer.stop()
