"""Ordering a processor to skip a message that stops it, and listing the orders: the adapter behind
`assist deadletter skip` and `assist deadletter skips`.

An order is a `SkipOrdered` record on assist.deadletter.skips (who, when, which processor and
input position, why). The processor reads it at its next start, which for a stuck processor is
within one back-off, dead-letters the message instead of handling it and records that it did
(`MessageSkipped`) in the same transaction as its offset past the message (services/runtime/
skips.py). An order is refused for a position the processor has already passed, or that holds no
message: skipping one already handled would make a replay differ from what its outputs were
computed from.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import TopicPartition

from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.skips import MessageSkipped, SkipOrdered, skip_id
from services.operations.redrive import operator_name, read_topic
from services.runtime.kafka import make_consumer, make_producer, partitions_of
from services.runtime.settings import KafkaSettings
from services.runtime.skips import parse_skip_record


class SkipRefused(Exception):  # noqa: N818 - a verdict, with the reason to show
    """The position may not be skipped (passed already, no such message, already skipped)."""


@dataclass(frozen=True)
class SkipEntry:
    """One order and, once the processor has carried it out, its record of doing so."""

    order: SkipOrdered
    done: MessageSkipped | None = None

    @property
    def position(self) -> str:
        return f"{self.order.topic}/{self.order.partition}@{self.order.offset}"


@dataclass(frozen=True)
class SkipPlaced:
    """What `order_skip` wrote, and where the processor stands on that partition."""

    order: SkipOrdered
    committed: int | None  # the processor's committed offset there; None: it committed none
    end: int
    new: bool  # False: the same order was given before and stands


def full_name(name: str, namespace: str) -> str:
    """Processor and topic names as the processor uses them: with the topic namespace."""
    return name if not namespace or name.startswith(namespace) else namespace + name


async def load_skips(kafka: KafkaSettings, topics: TopicNames) -> list[SkipEntry]:
    """Every order, oldest first, each with its MessageSkipped when carried out."""
    orders: dict[str, SkipOrdered] = {}
    done: dict[str, MessageSkipped] = {}
    for record in await read_topic(kafka, topics.deadletter_skips):
        parsed = parse_skip_record(record.value)
        if isinstance(parsed, SkipOrdered):
            orders.setdefault(str(parsed.skip_id), parsed)
        elif isinstance(parsed, MessageSkipped):
            done[str(parsed.skip_id)] = parsed
    return [SkipEntry(order, done.get(key)) for key, order in orders.items()]


async def order_skip(
    kafka: KafkaSettings,
    topics: TopicNames,
    processor: str,
    topic: str,
    partition: int,
    offset: int,
    reason: str,
    operator: str | None = None,
) -> SkipPlaced:
    """Record an operator's order that `processor` skip the message at topic/partition@offset."""
    processor = full_name(processor, topics.namespace)
    topic = full_name(topic, topics.namespace)
    committed, first, end = await _where_it_stands(
        kafka, processor, TopicPartition(topic, partition)
    )
    position = f"{topic}/{partition}@{offset}"
    if offset >= end:
        raise SkipRefused(f"no message at {position}: the partition ends at offset {end}")
    key = skip_id(processor, topic, partition, offset)
    for entry in await load_skips(kafka, topics):
        if entry.order.skip_id != key:
            continue
        if entry.done is not None:
            raise SkipRefused(
                f"{processor} already skipped {position} at "
                f"{entry.done.skipped_at.isoformat(timespec='seconds')} "
                f"(dead letter {entry.done.dead_letter_id})"
            )
        return SkipPlaced(entry.order, committed, end, new=False)
    if offset < (committed if committed is not None else first):
        raise SkipRefused(
            f"{processor} has already handled {position} (it has committed up to offset "
            f"{committed}): nothing to skip"
            if committed is not None
            else f"no message at {position}: the partition begins at offset {first}"
        )
    order = SkipOrdered(
        skip_id=key,
        processor=processor,
        topic=topic,
        partition=partition,
        offset=offset,
        reason=reason,
        operator=operator or operator_name(),
        ordered_at=datetime.now(UTC),
    )
    producer = make_producer(kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.deadletter_skips,
            canonical_json(order.model_dump(mode="json")),
            key=processor.encode(),
        )
    finally:
        await producer.stop()
    return SkipPlaced(order, committed, end, new=True)


async def _where_it_stands(
    kafka: KafkaSettings, processor: str, tp: TopicPartition, timeout: float = 30.0
) -> tuple[int | None, int, int]:
    """The processor's committed offset on `tp` (its consumer group's; None when it has committed
    none there, so that it starts at the partition's beginning), the beginning, and the end.

    The processors assign their partitions themselves, so asking as a member of their group
    joins nothing and disturbs no one; this consumer commits nothing.
    """
    consumer = make_consumer(kafka, group_id=processor)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        if tp not in await partitions_of(consumer, tp.topic, timeout):
            raise SkipRefused(f"{tp.topic} has no partition {tp.partition}")
        consumer.assign([tp])
        committed = await consumer.committed(tp)
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        return (int(committed) if committed is not None else None), int(first), int(end)
    except RuntimeError as missing:  # partitions_of: no such topic
        raise SkipRefused(str(missing)) from None
    finally:
        await consumer.stop()
