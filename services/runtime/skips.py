"""Operators' orders to skip a message that stops a processor, as one processor sees them.

An order (`SkipOrdered`, written by `assist deadletter skip`) names a processor and one of its
input positions. The processor reads the skips topic at every start, before it replays its
inputs, and from then on:

* a position it skipped before (a `MessageSkipped` of its own is committed) is passed over while
  replaying: its state is rebuilt exactly as it was, without that message;
* a position ordered and not yet reached is dead-lettered when reached, instead of handled, and
  the dead letter, a `MessageSkipped` and the input offset past it are committed in one
  transaction: the skip happens once, or not at all;
* an order for a position it had already passed when the order arrived is stale: the message was
  handled, so skipping it in a replay would make the state differ from what its outputs were
  computed from. It is ignored (and logged).

A stuck processor restarts every few seconds, so an order takes effect within one back-off.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from events.canonical import canonical_json
from events.skips import MessageSkipped, SkipOrdered
from services.runtime.kafka import ConsumerRecord, partitions_of, read_to_end
from services.runtime.logging import get_logger
from services.runtime.messages import Outbound

log = get_logger()

Position = tuple[str, int, int]  # topic, partition, offset

SkipRecord = SkipOrdered | MessageSkipped
_RECORD: TypeAdapter[SkipRecord] = TypeAdapter(SkipRecord)


def parse_skip_record(value: bytes | None) -> SkipRecord | None:
    """A record of the skips topic, or None when it is not one (it is then left alone)."""
    try:
        return _RECORD.validate_json(value or b"")
    except ValidationError:
        return None


@dataclass
class SkipBook:
    """One processor's orders and skips, folded from the skips topic."""

    processor: str
    ordered: dict[Position, SkipOrdered] = field(default_factory=dict)
    done: set[Position] = field(default_factory=set)

    def observe(self, record: SkipRecord | None) -> None:
        if record is None or record.processor != self.processor:
            return
        position = (record.topic, record.partition, record.offset)
        if isinstance(record, SkipOrdered):
            self.ordered.setdefault(position, record)  # the first order stands
        else:
            self.done.add(position)

    def pending(
        self, committed: dict[TopicPartition, int], inputs: Collection[str] = ()
    ) -> dict[Position, SkipOrdered]:
        """Orders still to carry out: not done, at or after the committed input offsets. Orders
        for positions already handled are stale (see the module's docstring); an order for a
        partition of `inputs` that this run does not read is another instance's."""
        found: dict[Position, SkipOrdered] = {}
        for position, order in self.ordered.items():
            if position in self.done:
                continue
            at = committed.get(TopicPartition(position[0], position[1]))
            if at is None and position[0] in inputs:
                continue
            if at is None:
                log.warning("skip order for a topic this processor does not read", **_fields(order))
            elif position[2] < at:
                log.warning("skip order arrived after the message was handled", **_fields(order))
            else:
                found[position] = order
        return found


async def load_skip_book(consumer: AIOKafkaConsumer, topic: str, processor: str) -> SkipBook:
    """Fold `topic` into a SkipBook of `processor`, with a started, unsubscribed consumer (the
    processor's own, before it assigns its inputs). A missing topic holds no orders."""
    book = SkipBook(processor)
    try:
        await partitions_of(consumer, topic, timeout=0)
    except RuntimeError:
        log.warning("no skips topic: operators' skip orders cannot reach it", topic=topic)
        return book

    def fold(record: ConsumerRecord) -> None:
        book.observe(parse_skip_record(record.value))

    await read_to_end(consumer, topic, fold)
    return book


def skipped_record(
    order: SkipOrdered, topic: str, dead_letter_id: uuid.UUID, now: datetime | None = None
) -> Outbound:
    """The processor's record that it carried `order` out, for the skips topic."""
    record = MessageSkipped(
        skip_id=order.skip_id,
        processor=order.processor,
        topic=order.topic,
        partition=order.partition,
        offset=order.offset,
        dead_letter_id=dead_letter_id,
        skipped_at=now or datetime.now(UTC),
    )
    value = canonical_json(record.model_dump(mode="json"))
    return Outbound(topic, order.processor.encode(), value, "MessageSkipped")


def skip_reason(order: SkipOrdered) -> str:
    """The dead letter's reason for a skipped message: who ordered it, when, and why."""
    return (
        f"skipped by {order.operator} at {order.ordered_at.isoformat(timespec='seconds')}: "
        f"{order.reason}"
    )


def _fields(order: SkipOrdered) -> dict[str, object]:
    return {
        "processor": order.processor,
        "position": f"{order.topic}/{order.partition}@{order.offset}",
        "operator": order.operator,
    }
