"""The limit on this machine: raw aiokafka through the same broker, nothing of the services.

One process produces `count` messages of `size` bytes with the producer the services use
(idempotent, acks=all, same linger and batch size) while a consumer with the services' options
reads them back. Three figures: produce alone (first send to last acknowledgement), consume
alone (a second pass over the messages just produced), and both at once (first send to last
message consumed), which is the figure the loop is compared with.

Logged in as the administrator (a super user: authenticated, no ACL evaluated) for the figure
the loop is compared with; bench/auth_cost.py runs the same over the open listener and as a
principal whose ACLs are checked.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.injector import inject
from bench.stats import rate
from services.runtime.kafka import connection_options, make_consumer
from services.runtime.settings import KafkaSettings

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Baseline:
    messages: int
    message_bytes: int
    partitions: int
    pipelined_per_second: float  # produce and consume at once: the reference figure
    produce_per_second: float
    consume_per_second: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(self).items()}


async def create_topic(
    kafka: KafkaSettings,
    name: str,
    partitions: int,
    timeout: float = 30,
    config: dict[str, str] | None = None,
) -> None:
    """Create the topic and wait until every partition has a leader (no first-use errors)."""
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config or {})])
        deadline = time.monotonic() + timeout
        while not _led(await admin.describe_topics([name]), partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {name}: no leader for every partition in {timeout}s")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def _led(described: list[dict[str, Any]], partitions: int) -> bool:
    found = [p for topic in described for p in topic.get("partitions", [])]
    return len(found) == partitions and all(p.get("leader", -1) >= 0 for p in found)


async def raw_messages(
    kafka: KafkaSettings, topic: str, count: int, size: int, partitions: int, create: bool
) -> list[tuple[bytes, bytes]]:
    """The topic (made when `create`), and `count` messages of `size` bytes to send to it."""
    if create:
        await create_topic(kafka, topic, partitions)
    # Random bytes (no compression is configured, so content does not matter), keys spread
    # like household ids.
    body = os.urandom(size // 2 + 1).hex().encode()[:size]
    return [(f"BH-base-{i:07d}".encode(), body) for i in range(count)]


async def measure_baseline(
    kafka: KafkaSettings,
    topic: str,
    count: int,
    size: int,
    partitions: int = 6,
    on_produced: Progress | None = None,
    on_consumed: Progress | None = None,
    create: bool = True,
) -> Baseline:
    """`create` False: the topic exists (and may hold messages of an earlier measurement: only
    those produced here are counted, from each partition's end as it was)."""
    messages = await raw_messages(kafka, topic, count, size, partitions, create)
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        tps = _assign(consumer, topic, partitions)
        ends = await consumer.end_offsets(tps)  # 0 on a new topic
        _seek(consumer, ends)
        started = time.perf_counter()
        reading = asyncio.create_task(_consume(consumer, count, on_consumed))
        _, produced_in = await inject(kafka, topic, messages, on_produced, progress_every=1000)
        await reading
        pipelined = time.perf_counter() - started
        # Consume alone: the same messages again, from where they begin.
        _seek(consumer, ends)
        started = time.perf_counter()
        await _consume(consumer, count, None)
        consumed_in = time.perf_counter() - started
    finally:
        await consumer.stop()
    return Baseline(
        messages=count,
        message_bytes=size,
        partitions=partitions,
        pipelined_per_second=rate(count, pipelined),
        produce_per_second=rate(count, produced_in),
        consume_per_second=rate(count, consumed_in),
    )


def _consumer(kafka: KafkaSettings) -> AIOKafkaConsumer:
    return make_consumer(kafka, group_id=None)


def _assign(consumer: AIOKafkaConsumer, topic: str, partitions: int) -> list[TopicPartition]:
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    return tps


def _seek(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    for tp, offset in offsets.items():
        consumer.seek(tp, offset)


async def _consume(consumer: AIOKafkaConsumer, count: int, on_progress: Progress | None) -> None:
    seen = 0
    while seen < count:
        batches = await consumer.getmany(timeout_ms=500, max_records=5000)
        seen += sum(len(records) for records in batches.values())
        if on_progress:
            on_progress(seen)
