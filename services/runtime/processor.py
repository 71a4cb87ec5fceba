"""The stream-processor runtime: consume, handle, and commit outputs with offsets atomically.

Each batch is one Kafka transaction: the messages a batch causes and the input offsets it
consumed are committed together, or not at all. A handler keeps its state in memory; on start
(and after any failure) a fresh handler is rebuilt by replaying its inputs from the beginning up
to the committed offsets, with outputs discarded, so state is exactly what the committed outputs
were computed from. Handlers must therefore be deterministic: no wall clock outside `tick`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ProducerFenced

from events.types import EventType
from services.runtime import metrics
from services.runtime.deadletter import dead_letter
from services.runtime.kafka import make_consumer, make_producer, partitions_of
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.settings import KafkaSettings

log = get_logger()


class StreamHandler(Protocol):
    """The business side of a processor."""

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        """Fold `message` into state and return what it causes (discarded while replaying)."""

    def tick(self, now: datetime) -> Sequence[Outbound]:
        """Timers: called between batches once caught up."""


class Bootstrapping(Protocol):
    async def bootstrap(self, consumer_factory: Callable[[], AIOKafkaConsumer]) -> None:
        """Rebuild state from somewhere other than the inputs (e.g. the chain itself)."""


@dataclass
class ProcessorStatus:
    """What /healthz and the operator console show about one processor."""

    name: str
    inputs: tuple[str, ...]
    running: bool = False
    replaying: bool = True
    caught_up: bool = False  # has reached the end of its inputs at least once since start
    lag: dict[str, int] = field(default_factory=dict)
    last_progress_at: float | None = None
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    consumed: int = 0
    produced: int = 0

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def stalled(self, after_seconds: float) -> bool:
        """Input is waiting but nothing has been consumed for `after_seconds`."""
        since = self.last_progress_at or self.started_at
        return self.total_lag > 0 and since is not None and time.time() - since > after_seconds


@dataclass(frozen=True)
class ProcessorConfig:
    name: str  # also the consumer group and the transactional id prefix
    inputs: tuple[str, ...]
    deadletter_topic: str
    replay_inputs: bool = True
    tick_seconds: float | None = None
    max_batch: int = 500
    instance: str = "0"


class Processor:
    """Runs one handler over its input topics until stopped; restarts itself after failures."""

    def __init__(
        self,
        config: ProcessorConfig,
        handler_factory: Callable[[], StreamHandler],
        kafka: KafkaSettings,
    ) -> None:
        self.config = config
        self._factory = handler_factory
        self._kafka = kafka
        self.status = ProcessorStatus(config.name, config.inputs)
        self.handler: StreamHandler | None = None
        self._stopping = asyncio.Event()
        self._last_tick = 0.0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                await self._run_once()
            except ProducerFenced:
                log.error("processor fenced by a newer instance; stopping", processor=self.config.name)
                self.status.last_error = "fenced by a newer instance"
                return
            except Exception as error:  # noqa: BLE001 - any failure: rebuild state and go on
                self.status.last_error = f"{type(error).__name__}: {error}"
                self.status.restarts += 1
                metrics.RESTARTS.labels(self.config.name).inc()
                log.error("processor failed; restarting", processor=self.config.name,
                          error=self.status.last_error, backoff=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 15.0)
            else:
                backoff = 1.0
        self.status.running = False

    async def _run_once(self) -> None:
        name = self.config.name
        handler = self._factory()
        producer = make_producer(self._kafka, transactional_id=f"{name}.{self.config.instance}")
        consumer = make_consumer(self._kafka, group_id=name)
        await producer.start()  # init_transactions: fences a zombie and aborts its open batch
        try:
            await consumer.start()
            try:
                if hasattr(handler, "bootstrap"):
                    await handler.bootstrap(lambda: make_consumer(self._kafka, group_id=None))
                committed = await self._assign(consumer)
                self.handler = handler
                self.status.running, self.status.started_at = True, time.time()
                self.status.caught_up, self.status.lag = False, {}
                self.status.replaying = any(committed.values())
                log.info("processor started", processor=name, inputs=list(self.config.inputs))
                while not self._stopping.is_set():
                    await self._step(consumer, producer, handler, committed)
            finally:
                await consumer.stop()
        finally:
            self.status.running = False
            await producer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        partitions: list[TopicPartition] = []
        for topic in self.config.inputs:
            partitions += await partitions_of(consumer, topic)
        consumer.assign(partitions)
        committed: dict[TopicPartition, int] = {}
        beginning = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            offset = await consumer.committed(tp)
            committed[tp] = offset if offset is not None else beginning[tp]
            if self.config.replay_inputs:
                consumer.seek(tp, beginning[tp])
            else:
                consumer.seek(tp, committed[tp])
        return committed

    async def _step(
        self,
        consumer: AIOKafkaConsumer,
        producer: object,
        handler: StreamHandler,
        committed: dict[TopicPartition, int],
    ) -> None:
        batches = await consumer.getmany(timeout_ms=200, max_records=self.config.max_batch)
        outputs: list[Outbound] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            for record in records:
                replaying = record.offset < committed[tp]
                message = Inbound(tp.topic, tp.partition, record.offset, record.key, record.value,
                                  record.timestamp)
                produced = self._handle(handler, message, replaying)
                if not replaying:
                    outputs.extend(produced)
                    offsets[tp] = record.offset + 1
        positions = {tp: int(await consumer.position(tp)) for tp in committed}
        self.status.replaying = any(positions[tp] < committed[tp] for tp in committed)
        if not self.status.replaying and self._tick_due():
            outputs.extend(handler.tick(datetime.now(UTC)))
        if outputs or offsets:
            await self._commit(producer, outputs, offsets)
        if batches:
            self.status.last_progress_at = time.time()
            metrics.LAST_PROGRESS.labels(self.config.name).set(self.status.last_progress_at)
        self._update_lag(consumer, positions)

    def _handle(self, handler: StreamHandler, message: Inbound, replaying: bool) -> list[Outbound]:
        name = self.config.name
        started = time.perf_counter()
        reason: str | None = None
        try:
            produced = list(handler.handle(message, replaying))
        except Rejected as rejected:
            reason = str(rejected)
        except Exception as error:  # noqa: BLE001 - a poison message must not stop the stream
            reason = f"{type(error).__name__}: {error}"
            if not replaying:
                log.exception("handler failed on a message", processor=name, topic=message.topic,
                              partition=message.partition, offset=message.offset)
        if reason is not None:
            produced = [dead_letter(message, name, reason, self.config.deadletter_topic)]
        if not replaying:
            metrics.PROCESSING_SECONDS.labels(name).observe(time.perf_counter() - started)
            self.status.consumed += 1
            metrics.EVENTS_IN.labels(name, message.topic, _event_type_of(message.value)).inc()
            if reason is not None:
                metrics.DEAD_LETTERS.labels(name, message.topic).inc()
                log.warning("dead letter", processor=name, topic=message.topic,
                            partition=message.partition, offset=message.offset, reason=reason)
        return produced

    async def _commit(
        self, producer: object, outputs: list[Outbound], offsets: dict[TopicPartition, int]
    ) -> None:
        started = time.perf_counter()
        await producer.begin_transaction()  # type: ignore[attr-defined]
        try:
            for out in outputs:
                await producer.send(out.topic, out.value, key=out.key)  # type: ignore[attr-defined]
            if offsets:
                await producer.send_offsets_to_transaction(  # type: ignore[attr-defined]
                    offsets, self.config.name
                )
            await producer.commit_transaction()  # type: ignore[attr-defined]
        except BaseException:
            await producer.abort_transaction()  # type: ignore[attr-defined]
            raise
        metrics.TRANSACTION_SECONDS.labels(self.config.name).observe(time.perf_counter() - started)
        for out in outputs:
            metrics.EVENTS_OUT.labels(self.config.name, out.topic, out.label).inc()
        self.status.produced += len(outputs)

    def _tick_due(self) -> bool:
        if self.config.tick_seconds is None:
            return False
        now = time.monotonic()
        if now - self._last_tick < self.config.tick_seconds:
            return False
        self._last_tick = now
        return True

    def _update_lag(self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]) -> None:
        for tp, position in positions.items():
            end = consumer.last_stable_offset(tp)
            if end is None:  # nothing fetched from this partition yet
                continue
            lag = max(0, end - position)
            self.status.lag[f"{tp.topic}/{tp.partition}"] = lag
            metrics.CONSUMER_LAG.labels(self.config.name, tp.topic, str(tp.partition)).set(lag)
        if len(self.status.lag) == len(positions) and not self.status.replaying:
            self.status.caught_up = self.status.caught_up or self.status.total_lag == 0


def _event_type_of(value: bytes | None) -> str:
    # Metrics want the type without a full decode; the canonical form makes this a cheap find.
    if not value:
        return ""
    start = value.find(b'"event_type":"')
    if start < 0:
        return ""
    start += len(b'"event_type":"')
    end = value.find(b'"', start)
    name = value[start:end].decode("utf-8", "replace") if end > 0 else ""
    return name if name in _EVENT_TYPES else "unknown"


_EVENT_TYPES = frozenset(t.value for t in EventType)
