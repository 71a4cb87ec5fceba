"""Small helpers for tests that talk to the real broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.runtime.kafka import connection_options, partitions_of
from services.runtime.settings import KafkaSettings


async def produce(
    kafka: KafkaSettings,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | Callable[[bytes], list[tuple[str, bytes]]] | None = None,
) -> int:
    """Write `messages` (key, value), each with `headers`, or with `headers(value)` when it is a
    function (e.g. the chain writer's signature of each record)."""
    producer = AIOKafkaProducer(
        **connection_options(kafka), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    count = 0
    try:
        batch = [
            await producer.send(
                topic, value, key=key, headers=headers(value) if callable(headers) else headers
            )
            for key, value in messages
        ]
        for future in batch:
            await future
            count += 1
    finally:
        await producer.stop()
    return count


async def read_all(
    kafka: KafkaSettings, topic: str, timeout: float = 5.0, committed: bool = True
) -> list[Any]:
    """Every committed record of `topic` from the beginning to its current end (with
    `committed=False`: every data record up to the high watermark, aborted ones too)."""
    consumer = AIOKafkaConsumer(
        **connection_options(kafka),
        isolation_level="read_committed" if committed else "read_uncommitted",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tps = await partitions_of(consumer, topic)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end")
            batches = await consumer.getmany(timeout_ms=200)
            for part in batches.values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def read_documents(kafka: KafkaSettings, topic: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in await read_all(kafka, topic)]


async def wait_for_records(
    kafka: KafkaSettings, topic: str, count: int, timeout: float = 60.0
) -> list[Any]:
    """Poll until `topic` holds at least `count` committed records; fail with what was there.

    A commit the producer has been told of is durable, but read_committed readers see it only
    once the broker has written its markers, which it does just after answering (longer after
    a restart): a reader must wait for what it expects rather than read once."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        records = await read_all(kafka, topic)
        if len(records) >= count:
            return records
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{topic}: {len(records)} records after {timeout}s, want {count}")
        await asyncio.sleep(0.5)


async def wait_for_documents(
    kafka: KafkaSettings, topic: str, count: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Poll until `topic` holds at least `count` records; fail with what was there."""
    return [json.loads(r.value) for r in await wait_for_records(kafka, topic, count, timeout)]
