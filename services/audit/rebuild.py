"""Rebuilding the audit index from an empty start while the live one keeps serving.

A fresh index reads `assist.chain` from its beginning; once it has read at least to the log's
end as of the start and to everything the live index has folded, it replaces the live one in
one step with no await in between, so no record is folded by neither. Records the live
processor hands over afterwards are folded by position, so none is folded twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.audit.chainlog import log_consumer
from services.audit.index import ChainIndex
from services.audit.indexer import ChainIndexer
from services.runtime.kafka import partitions_of
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings

log = get_logger()


@dataclass(frozen=True)
class RebuildReport:
    events: int
    households: int
    records_read: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0


class Rebuilder:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        cache_bytes: int,
        live: Callable[[], ChainIndexer | None],
        timeout: float,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._cache_bytes = cache_bytes
        self._live = live
        self._timeout = timeout
        self._lock = asyncio.Lock()

    async def rebuild(self) -> RebuildReport:
        async with self._lock:
            return await self._rebuild()

    async def _rebuild(self) -> RebuildReport:
        started = time.perf_counter()
        live = self._live()
        fresh = ChainIndex(self._cache_bytes, live.index.writer_key if live else None)
        consumer = log_consumer(self._kafka)
        await consumer.start()
        read = 0
        try:
            partitions = await partitions_of(consumer, self._topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            deadline = asyncio.get_running_loop().time() + self._timeout
            while True:
                reached = all([await consumer.position(tp) >= ends[tp] for tp in partitions])
                # From here to the swap: no await, so the live index cannot move meanwhile.
                indexer = self._live()
                if indexer is None:
                    raise RuntimeError("the audit processor is not running")
                if reached and fresh.covers(indexer.index.positions):
                    indexer.index = fresh
                    break
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"rebuild did not catch up in {self._timeout:.0f}s")
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        fresh.fold(
                            tp.partition,
                            record.offset,
                            record.key,
                            record.value,
                            tuple(record.headers or ()),
                        )
                        read += 1
        finally:
            await consumer.stop()
        report = RebuildReport(
            fresh.events, len(fresh.entries), read, time.perf_counter() - started
        )
        log.info(
            "audit index rebuilt",
            events=report.events,
            households=report.households,
            seconds=round(report.seconds, 3),
            events_per_second=round(report.events_per_second),
        )
        return report
