"""Reading `assist.chain` from Kafka: one household's records by position, or the whole log.

Both read committed transactions only, as every processor does, so the audit never shows an
event the chain writer did not commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.runtime.kafka import connection_options, partitions_of, read_to_end
from services.runtime.settings import KafkaSettings


class Record(Protocol):
    """What the audit uses of a consumed record."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


def log_consumer(kafka: KafkaSettings, fetch_bytes: int = 4 * 1024 * 1024) -> AIOKafkaConsumer:
    """A consumer without a group: it reads where it is told and commits nothing."""
    return AIOKafkaConsumer(
        **connection_options(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=kafka.request_timeout_ms,
        max_partition_fetch_bytes=fetch_bytes,
        fetch_max_wait_ms=100,
    )


class ChainGone(RuntimeError):
    """A record the index points at is no longer in the log (deleted, or the topic recreated)."""


class PositionReader:
    """Reads given (partition, offset) positions of one topic: a seek and a fetch for each.

    A fetch returns the record batch that holds the position, so neighbours from the same
    batch come along; those that belong to the chain being read are taken, the rest are skipped
    without being parsed. A small pool of consumers fetches a chain's positions in parallel
    (a chain of L events scattered over the log costs about L / pool-size round trips).
    Partitions stay paused between reads, so nothing is prefetched idly.
    """

    def __init__(
        self, kafka: KafkaSettings, topic: str, concurrency: int = 4, timeout: float = 10.0
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._concurrency = max(1, concurrency)
        self._timeout = timeout
        self._pool: asyncio.Queue[AIOKafkaConsumer] = asyncio.Queue()
        self._consumers: list[AIOKafkaConsumer] = []
        self.fetches = 0

    async def start(self) -> None:
        for _ in range(self._concurrency):
            consumer = log_consumer(self._kafka, fetch_bytes=64 * 1024)
            await consumer.start()
            self._consumers.append(consumer)
            partitions = await partitions_of(consumer, self._topic)
            consumer.assign(partitions)
            consumer.pause(*partitions)
            self._pool.put_nowait(consumer)

    async def stop(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()
        self._consumers.clear()
        self._pool = asyncio.Queue()

    async def read(self, positions: Sequence[tuple[int, int]]) -> list[bytes | None]:
        """The stored values at `positions`, in the order given."""
        if not self._consumers:
            raise RuntimeError("position reader not started")
        ordered = sorted(set(positions))
        # Contiguous slices, so that each consumer's fetches also catch its own neighbours.
        size = -(-len(ordered) // self._concurrency) or 1
        slices = [ordered[i : i + size] for i in range(0, len(ordered), size)]
        wanted: dict[tuple[int, int], bytes | None] = {}
        pending = set(ordered)
        await asyncio.gather(*(self._read_slice(part, pending, wanted) for part in slices))
        return [wanted[position] for position in positions]

    async def _read_slice(
        self,
        positions: list[tuple[int, int]],
        pending: set[tuple[int, int]],
        wanted: dict[tuple[int, int], bytes | None],
    ) -> None:
        consumer = await self._pool.get()
        try:
            for partition, offset in positions:
                if (partition, offset) in wanted:
                    continue
                tp = TopicPartition(self._topic, partition)
                consumer.resume(tp)
                try:
                    await self._fetch(consumer, tp, offset, pending, wanted)
                finally:
                    consumer.pause(tp)
        finally:
            self._pool.put_nowait(consumer)

    async def _fetch(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        offset: int,
        pending: set[tuple[int, int]],
        wanted: dict[tuple[int, int], bytes | None],
    ) -> None:
        consumer.seek(tp, offset)
        deadline = asyncio.get_running_loop().time() + self._timeout
        while (tp.partition, offset) not in wanted:
            if asyncio.get_running_loop().time() > deadline:
                raise ChainGone(f"{tp.topic}/{tp.partition}@{offset}: not readable")
            batches = await consumer.getmany(tp, timeout_ms=500)
            self.fetches += 1
            records = batches.get(tp, [])
            for record in records:
                if (tp.partition, record.offset) in pending:
                    wanted[(tp.partition, record.offset)] = record.value
            if records and records[-1].offset >= offset and (tp.partition, offset) not in wanted:
                raise ChainGone(f"{tp.topic}/{tp.partition}@{offset}: no such record")


async def read_log(
    kafka: KafkaSettings,
    topic: str,
    on_record: Callable[[Record], None],
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Feed every committed record of `topic`, from its beginning to its end as of now.

    `on_progress(done, total)` is told, after each batch, how far the read is, in offsets.
    Returns the number of records read.
    """
    consumer = log_consumer(kafka)
    await consumer.start()
    try:
        return await read_to_end(consumer, topic, on_record, on_progress)
    finally:
        await consumer.stop()
