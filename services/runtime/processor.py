"""The stream-processor runtime: consume, handle, and commit outputs with offsets atomically.

Each batch is one Kafka transaction: the messages a batch causes and the input offsets it
consumed are committed together, or not at all. A handler keeps its state in memory; on start
(and after any failure) a fresh handler is rebuilt by replaying its inputs from the beginning up
to the committed offsets, with outputs discarded, so state is exactly what the committed outputs
were computed from. Handlers must therefore be deterministic: no wall clock outside `tick`.

A processor runs as one instance owning every input partition, or scaled out (`ScaleOut`):
any number of instances share the partitions of its household-keyed inputs through their
consumer group, a task at a time (partition_tasks.py, membership.py), each task with its own
transactional id; inputs every instance needs whole (the policy versions) are `broadcast`.
When an instance's tasks change, its run ends and a new one rebuilds state for its new tasks.

A message the handler cannot take becomes a dead letter (bounded: deadletter.py). A failure
around the handler makes the run start again; failing on the same message run after run, the
processor reports itself stuck there (stuck.py) until an operator orders it to skip that
message (skips.py), which it then dead-letters and commits past, in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ProducerFenced

from contracts.topics import skips_topic_of
from events.skips import SkipOrdered
from services.runtime import metrics
from services.runtime.deadletter import dead_letter, dead_letter_id
from services.runtime.kafka import make_consumer, make_producer, partitions_of
from services.runtime.kept_state import KeepsState, PartitionKeeper
from services.runtime.limits import (
    PRODUCER_MAX_REQUEST_BYTES,
    RECORD_FRAMING_BYTES,
    fits_a_record,
    record_bytes,
)
from services.runtime.logging import get_logger
from services.runtime.membership import Membership
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.partition_tasks import TaskAssignment
from services.runtime.peek import trace_fields
from services.runtime.settings import KafkaSettings
from services.runtime.skips import Position, load_skip_book, skip_reason, skipped_record
from services.runtime.status import ProcessorStatus
from services.runtime.stuck import FailureTracker

log = get_logger()
# After being fenced, how long a scaled-out instance waits to hear of new tasks before it runs
# again: about a heartbeat of its group, after which the group has told it if it was dropped.
FENCED_WAIT_SECONDS = 5.0


class StreamHandler(Protocol):
    """The business side of a processor."""

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        """Fold `message` into state and return what it causes (discarded while replaying)."""

    def tick(self, now: datetime) -> Sequence[Outbound]:
        """Timers: called between batches once caught up."""


class Bootstrapping(Protocol):
    async def bootstrap(
        self,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        assignment: TaskAssignment | None = None,
    ) -> None:
        """Rebuild state from somewhere other than the inputs (e.g. the chain itself): for the
        tasks of `assignment` only, when the processor is scaled out."""


@dataclass(frozen=True, slots=True)
class Landed:
    """An output of a committed transaction, and where it landed."""

    out: Outbound
    partition: int
    offset: int


@runtime_checkable
class WatchesItsOutputs(Protocol):
    """A handler whose state is tied to where its own outputs landed (the chain writer's heads
    are kept by the chain's offsets, which only the send results tell)."""

    def committed(self, landed: Sequence[Landed]) -> None:
        """The outputs of a transaction that has just committed, each where it landed."""

    def stopping(self) -> None:
        """A clean stop, after the last commit: keep what should outlive this run."""


@dataclass(frozen=True)
class ScaleOut:
    """How a processor shares its work with other instances of itself."""

    instance: str  # this instance's name: tasks are dealt in the order of the names
    most_tasks: int = 4  # the most instances that can share the work (partition_tasks.py)
    # Inputs every instance reads whole; only the owner of task 0 commits their offsets and
    # what they cause (a dead letter).
    broadcast: tuple[str, ...] = ()
    # Timers are allowed when what they fire is of the instance's own tasks' state and carries
    # an id derived from it: a task that moves may fire a timer on both sides of the move, and
    # the chain writer drops the repeat.
    idempotent_timers: bool = False


@dataclass(frozen=True)
class ProcessorConfig:
    name: str  # also the consumer group and the transactional id prefix
    inputs: tuple[str, ...]
    deadletter_topic: str
    replay_inputs: bool = True
    tick_seconds: float | None = None
    max_batch: int = 500
    instance: str = "0"
    # How often the broker is asked for the inputs' end offsets: the lag, and whether the
    # broker answers at all, are known even while the processor itself is stuck.
    lag_check_seconds: float = 2.0
    # Clients that have not reached the broker for this long are replaced by new ones: an
    # aiokafka client can stay wedged after the broker comes back.
    reconnect_after_seconds: float = 20.0
    # Offsets of batches that caused nothing are committed with the next batch that causes
    # something, when the input goes quiet, or after this long: a transaction per such batch
    # costs the broker and the loop more than the message itself (see _step).
    idle_commit_seconds: float = 1.0
    # Runs failing in a row on the same input position before the processor says it is stuck
    # there (/healthz, the console) and an operator may skip the message.
    stuck_after: int = 3
    # Where operators' orders to skip a message are; by default beside the dead-letter topic.
    skips_topic: str | None = None
    scale_out: ScaleOut | None = None
    # Where a handler that keeps its state by partition (kept_state.py) keeps it, and how
    # often the partitions that changed are written (and at every clean stop).
    state_dir: Path | None = None
    keep_state_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.scale_out is not None and self.tick_seconds is not None:
            if not self.scale_out.idempotent_timers:
                raise ValueError(
                    f"{self.name}: a scaled-out processor may have timers (tick) only when what"
                    " they fire is idempotent (ScaleOut.idempotent_timers)"
                )

    @property
    def skip_orders_topic(self) -> str:
        return self.skips_topic or skips_topic_of(self.deadletter_topic)

    @property
    def keyed_inputs(self) -> tuple[str, ...]:
        """The inputs whose partitions instances share (all of them when not scaled out)."""
        shared = self.scale_out.broadcast if self.scale_out is not None else ()
        return tuple(topic for topic in self.inputs if topic not in shared)


class _TasksChanged(Exception):
    """The group dealt this instance other tasks: the run ends and the next takes them."""


class OutputTooLarge(RuntimeError):
    """A handler caused a message larger than any record may be: the run fails (the handler's
    state has taken the input in), and the processor reports itself stuck at that input."""


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
        self._reconnect = False
        # Committed progress (positions after the last completed batch) and the highest end
        # offsets seen, per input partition: lag is their difference.
        self._progress: dict[TopicPartition, int] = {}
        self._ends: dict[TopicPartition, int] = {}
        # Consumed but not yet committed positions, and when offsets were last committed.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._committed_at = 0.0
        # Per input partition: the last stable offset seen and since when (see _watch_held).
        self._stable_since: dict[TopicPartition, tuple[int, float]] = {}
        self._metrics = _Metrics(config.name)
        self._failures = FailureTracker(config.stuck_after)
        # Operators' skips (skips.py): positions skipped before (passed over in a replay), and
        # orders still to carry out; read at every start.
        self._skipped: set[Position] = set()
        self._skip_orders: dict[Position, SkipOrdered] = {}
        # Where the work of this run is, for a failure to be put down to a message: the one
        # being handled, else the first one of the uncommitted batch that caused something,
        # else the first one not yet committed.
        self._current: Position | None = None
        self._first_output: Position | None = None
        self._first_uncommitted: Position | None = None
        # Scaled out: the group membership (for the processor's life) and this run's tasks.
        self._membership: Membership | None = None
        if config.scale_out is not None:
            self._membership = Membership(
                kafka,
                config.name,
                config.keyed_inputs,
                config.scale_out.instance,
                config.scale_out.most_tasks,
            )
        self._assignment = TaskAssignment(1, frozenset({0}))
        self._keeper: PartitionKeeper | None = None

    @property
    def _step_limit(self) -> float:
        return (self._kafka.transaction_timeout_ms + self._kafka.request_timeout_ms) / 1000 + 10

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        try:
            await self._run_until_stopped()
        finally:
            if self._membership is not None:
                await self._membership.leave()
            self.status.running = False

    async def _run_until_stopped(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                await self._run_once()
            except _TasksChanged:
                # No failure: the next run takes the new tasks at once.
                log.info("tasks changed: rebuilding for the new ones", processor=self.config.name)
                self.status.rebalances += 1
            except ProducerFenced:
                if self._membership is None:
                    log.error(
                        "processor fenced by a newer instance; stopping",
                        processor=self.config.name,
                    )
                    self.status.last_error = "fenced by a newer instance"
                    return
                # Another instance took one of this one's tasks: the group is dealing them
                # again, or this one was given up for dead. Its next heartbeat says which; a
                # run started before that only fences the other back, and is fenced in turn.
                log.warning("task taken over by another instance", processor=self.config.name)
                self.status.rebalances += 1
                changed = self._membership.changed
                await _first(changed, self._stopping, timeout=FENCED_WAIT_SECONDS)
                if not changed.is_set():
                    # The group said nothing: this member may be wedged (a client that lost the
                    # broker), so a fresh one joins and is dealt its tasks anew.
                    await self._membership.leave()
            except asyncio.CancelledError as error:
                if _being_cancelled():
                    raise
                # Not a cancellation of this task: a Kafka client cancelled one of its own
                # futures under it (seen when the broker restarts mid-commit). Left to
                # propagate, it would end the processor silently, for good.
                await self._restart_after(error, backoff)
                backoff = min(backoff * 2, 15.0)
            except Exception as error:  # noqa: BLE001 - any failure: rebuild state and go on
                await self._restart_after(error, backoff)
                backoff = min(backoff * 2, 15.0)
            else:
                backoff = 1.0

    async def _restart_after(self, error: BaseException, backoff: float) -> None:
        self.status.last_error = f"{type(error).__name__}: {error}"
        self.status.restarts += 1
        metrics.RESTARTS.labels(self.config.name).inc()
        at = self._current or self._first_output or self._first_uncommitted
        stuck = self.status.stuck = self._failures.failed(at, error)
        log.error(
            "processor failed; restarting",
            processor=self.config.name,
            error=self.status.last_error,
            backoff=backoff,
            **({"at": f"{at[0]}/{at[1]}@{at[2]}"} if at is not None else {}),
        )
        if stuck is not None:
            log.error(
                "processor stuck at a message",
                processor=self.config.name,
                position=stuck.position,
                reason=stuck.reason,
                failures=stuck.failures,
                skip=f"assist deadletter skip --service {self.config.name} --topic "
                f"{stuck.topic} --partition {stuck.partition} --offset {stuck.offset} "
                "--reason WHY",
            )
        await asyncio.sleep(backoff)

    async def _run_once(self) -> None:
        name = self.config.name
        assignment = await self._take_tasks()
        if assignment is None:
            return
        handler = self._factory()
        producers = {
            task: make_producer(self._kafka, transactional_id=self._transactional_id(task))
            for task in sorted(assignment.mine)
        }
        consumer = make_consumer(self._kafka, group_id=name)
        try:
            # init_transactions: fences a zombie (or the task's previous owner) and aborts its
            # open batch, before the committed offsets are read.
            await asyncio.gather(*(producer.start() for producer in producers.values()))
            await consumer.start()
            try:
                # Before the inputs are assigned: the same consumer reads the skip orders.
                skips = await load_skip_book(consumer, self.config.skip_orders_topic, name)
                if hasattr(handler, "bootstrap"):
                    await handler.bootstrap(
                        lambda: make_consumer(self._kafka, group_id=None),
                        *(() if self._membership is None else (assignment,)),
                    )
                committed = await self._assign(consumer)
                self._keeper = await self._restore_kept(handler, consumer, committed)
                self._skipped = skips.done
                self._skip_orders = skips.pending(committed, self.config.inputs)
                self._current = self._first_output = self._first_uncommitted = None
                self.handler = handler
                self.status.running, self.status.started_at = True, time.time()
                self.status.caught_up, self.status.lag = False, {}
                self.status.connected, self.status.waiting_since = True, None
                self.status.partitions = [f"{tp.topic}/{tp.partition}" for tp in committed]
                self._progress, self._ends, self._uncommitted = {}, {}, {}
                self.status.replaying = any(committed.values())
                log.info(
                    "processor started",
                    processor=name,
                    inputs=list(self.config.inputs),
                    **self._task_fields(),
                )
                watcher = asyncio.create_task(self._watch(consumer, list(committed)))
                try:
                    while not self._stopping.is_set():
                        if self._reconnect:
                            self._reconnect = False
                            raise ConnectionError(
                                f"broker unreachable for {self.config.reconnect_after_seconds:g} s:"
                                " reconnecting with new clients"
                            )
                        if self._membership is not None and self._membership.changed.is_set():
                            raise _TasksChanged
                        await self._step_within_limit(consumer, producers, handler, committed)
                    await self._commit_uncommitted(producers)
                    if self._keeper is not None and not self._uncommitted:
                        self._keeper.keep(self._progress, due_only=False)
                    if isinstance(handler, WatchesItsOutputs):
                        _stop_watching(handler)
                finally:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
            finally:
                await _stop_quietly(consumer)
        finally:
            self.status.running = False
            for producer in producers.values():
                await _stop_quietly(producer)

    async def _take_tasks(self) -> TaskAssignment | None:
        """This run's tasks: every partition when not scaled out; else what the group dealt
        this instance (None, after waiting, when it was dealt none: nothing to run)."""
        if self._membership is None:
            return self._assignment
        if not self._membership.joined:
            await self._membership.start()
        await _first(self._membership.dealt, self._stopping)
        if self._stopping.is_set():
            return None
        assignment = self._membership.assignment
        assert assignment is not None
        self._membership.changed.clear()
        self._assignment = assignment
        self.status.tasks, self.status.task_count = sorted(assignment.mine), assignment.tasks
        if assignment.mine:
            return assignment
        # More instances than tasks: this one stands by, ready, until the group changes.
        self.status.running = self.status.caught_up = self.status.connected = True
        self.status.replaying, self.status.lag, self.status.partitions = False, {}, []
        self.handler = None
        log.info("no task for this instance: standing by", processor=self.config.name)
        await _first(self._membership.changed, self._stopping)
        return None

    def _transactional_id(self, task: int) -> str:
        if self._membership is None:
            return f"{self.config.name}.{self.config.instance}"
        # The task count is in the id: task 1 of 4 and task 1 of 8 hold other partitions.
        return f"{self.config.name}.task-{task}-of-{self._assignment.tasks}"

    def _task_fields(self) -> dict[str, object]:
        if self._membership is None:
            return {}
        return {"tasks": sorted(self._assignment.mine), "task_count": self._assignment.tasks}

    def _task_of(self, tp: TopicPartition) -> int | None:
        """Whose transaction carries what a message of `tp` causes, and its offset: None for a
        broadcast input on an instance without task 0 (another instance speaks for it)."""
        scale_out = self.config.scale_out
        if scale_out is None:
            return 0
        if tp.topic in scale_out.broadcast:
            return 0 if 0 in self._assignment.mine else None
        return int(tp.partition) % self._assignment.tasks

    async def _restore_kept(
        self,
        handler: StreamHandler,
        consumer: AIOKafkaConsumer,
        committed: dict[TopicPartition, int],
    ) -> PartitionKeeper | None:
        """The state the files hold for this run's partitions, when the handler keeps it so:
        those partitions then replay only what came after (kept_state.py)."""
        directory = self.config.state_dir
        if (
            directory is None
            or not self.config.replay_inputs
            or not isinstance(handler, KeepsState)
        ):
            return None
        keeper = PartitionKeeper(
            directory, handler, self.config.keep_state_seconds, self.config.name
        )
        await keeper.restore(consumer, committed, lambda: make_consumer(self._kafka, group_id=None))
        self.status.restored_partitions = keeper.restored
        return keeper

    async def _assign(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        partitions: list[TopicPartition] = []
        keyed = self.config.keyed_inputs if self._membership is not None else ()
        for topic in self.config.inputs:
            partitions += [
                tp
                for tp in await partitions_of(consumer, topic)
                if topic not in keyed or self._assignment.owns(tp.partition)
            ]
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

    async def _step_within_limit(
        self,
        consumer: AIOKafkaConsumer,
        producers: dict[int, Any],
        handler: StreamHandler,
        committed: dict[TopicPartition, int],
    ) -> None:
        """A step waits on the broker in several places (fetch positions, the commit); none may
        wait for good, or the processor hangs with its clients instead of starting again with
        fresh ones."""
        limit = asyncio.timeout(self._step_limit)
        try:
            async with limit:
                await self._step(consumer, producers, handler, committed)
        except TimeoutError:
            if limit.expired():
                raise TimeoutError(f"a step waited over {self._step_limit:g} s") from None
            raise

    async def _step(
        self,
        consumer: AIOKafkaConsumer,
        producers: dict[int, Any],
        handler: StreamHandler,
        committed: dict[TopicPartition, int],
    ) -> None:
        batches = await consumer.getmany(timeout_ms=200, max_records=self.config.max_batch)
        outputs: dict[int, list[Outbound]] = {}
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            task = self._task_of(tp)
            for record in records:
                replaying = record.offset < committed[tp]
                position = (tp.topic, tp.partition, record.offset)
                message = Inbound(
                    tp.topic,
                    tp.partition,
                    record.offset,
                    record.key,
                    record.value,
                    record.timestamp,
                    tuple(record.headers or ()),
                )
                if position in self._skipped:  # skipped before: the state never had it
                    produced = []
                elif position in self._skip_orders and not replaying:
                    produced = self._skip(message, self._skip_orders.pop(position))
                else:
                    self._current = position
                    produced = self._handle(handler, message, replaying)
                    self._current = None
                if not replaying and task is not None:
                    if produced and self._first_output is None:
                        self._first_output = position
                    self._first_uncommitted = self._first_uncommitted or position
                    if produced:
                        outputs.setdefault(task, []).extend(produced)
                    offsets[tp] = record.offset + 1
            if self._keeper is not None:
                self._keeper.handled(tp, records)
        positions = {tp: int(await consumer.position(tp)) for tp in committed}
        self.status.replaying = any(positions[tp] < committed[tp] for tp in committed)
        if not self.status.replaying and self._tick_due():
            if ticked := list(handler.tick(datetime.now(UTC))):
                # Scaled out: in the transaction of the instance's first task (a timer's event
                # is its own tasks' and idempotent, so whose transaction carries it is moot).
                outputs.setdefault(min(self._assignment.mine, default=0), []).extend(ticked)
        self._uncommitted.update(offsets)
        # Offsets alone can wait: a message that caused nothing, handled again after a restart,
        # causes nothing again (handlers are deterministic), so committing them later loses and
        # duplicates nothing, and saves a transaction on most batches of most processors.
        quiet = not batches or time.monotonic() - self._committed_at >= (
            self.config.idle_commit_seconds
        )
        if outputs or (self._uncommitted and quiet):
            await self._commit(producers, outputs, self._uncommitted)
            self._uncommitted, self._committed_at = {}, time.monotonic()
            self._first_output = self._first_uncommitted = None
        if self._keeper is not None and not self._uncommitted and not self.status.replaying:
            self._keeper.keep(positions)  # everything handled is committed: the state is too
        if batches:
            self.status.last_progress_at = time.time()
            metrics.LAST_PROGRESS.labels(self.config.name).set(self.status.last_progress_at)
        self._update_lag(consumer, positions)

    async def _commit_uncommitted(self, producers: dict[int, Any]) -> None:
        """On a clean stop: what was consumed is committed, so a restart starts after it."""
        if not self._uncommitted:
            return
        try:
            await self._commit(producers, {}, self._uncommitted)
            self._uncommitted = {}
        except Exception as error:  # noqa: BLE001 - stopping anyway; a restart re-reads them
            log.warning(
                "offsets not committed at stop",
                processor=self.config.name,
                error=f"{type(error).__name__}: {error}",
            )

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
                log.exception(
                    "handler failed on a message",
                    processor=name,
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    **trace_fields(message.value),
                )
        if reason is not None:
            produced = [dead_letter(message, name, reason, self.config.deadletter_topic)]
        elif not replaying:
            _check_sizes(produced)
        if replaying:
            self.status.replayed += 1
        if not replaying:
            self._metrics.processing.observe(time.perf_counter() - started)
            self.status.consumed += 1
            self._metrics.events_in(message.topic, message.event_type).inc()
            if reason is not None:
                metrics.DEAD_LETTERS.labels(name, message.topic).inc()
                log.warning(
                    "dead letter",
                    processor=name,
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    reason=reason,
                    **trace_fields(message.value),
                )
        return produced

    async def _commit(
        self,
        producers: dict[int, Any],
        outputs: dict[int, list[Outbound]],
        offsets: dict[TopicPartition, int],
    ) -> None:
        """One transaction per task with something to commit, side by side; a task whose
        transaction fails fails the run (the others' commits stand: each is whole)."""
        by_task: dict[int, dict[TopicPartition, int]] = {}
        for tp, offset in offsets.items():
            task = self._task_of(tp)
            if task is not None:
                by_task.setdefault(task, {})[tp] = offset
        tasks = sorted(set(by_task) | set(outputs))
        results = await asyncio.gather(
            *(
                self._commit_task(producers[t], outputs.get(t, []), by_task.get(t, {}))
                for t in tasks
            ),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            # Fencing first: it says another instance has the task, which the run must learn.
            raise next((f for f in failures if isinstance(f, ProducerFenced)), failures[0])

    async def _commit_task(
        self, producer: Any, outputs: list[Outbound], offsets: dict[TopicPartition, int]
    ) -> None:
        started = time.perf_counter()
        # The broker aborts a transaction older than its timeout, and aiokafka can wait forever
        # on a commit after the broker came back: past that timeout, fail the batch, so that
        # the restart (a new producer fences this one) does it again.
        limit = self._kafka.transaction_timeout_ms / 1000
        try:
            async with asyncio.timeout(limit):
                # Inside the limit: it waits for a producer id, which a producer that lost its
                # own across a broker restart may never get back.
                await producer.begin_transaction()
                # Offsets first: an output, once written, holds back what read_committed
                # consumers of its partition see (the last stable offset) until the commit,
                # so it is written as late as the transaction allows (make bench: -12 % p50).
                if offsets:
                    await producer.send_offsets_to_transaction(offsets, self.config.name)
                sent = [
                    await producer.send(
                        out.topic, out.value, key=out.key, headers=list(out.headers) or None
                    )
                    for out in outputs
                ]
                await producer.commit_transaction()
        except BaseException as error:
            with contextlib.suppress(Exception):  # the restart's fencing aborts it anyway
                await asyncio.wait_for(producer.abort_transaction(), timeout=10)
            if isinstance(error, TimeoutError):
                raise TimeoutError(f"transaction not committed within {limit:g} s") from error
            raise
        self._metrics.transaction.observe(time.perf_counter() - started)
        if isinstance(self.handler, WatchesItsOutputs) and outputs:
            self.handler.committed(_landed(outputs, sent))
        self._failures.committed({(tp.topic, tp.partition): at for tp, at in offsets.items()})
        self.status.stuck = self._failures.stuck
        for out in outputs:
            self._metrics.events_out(out.topic, out.label).inc()
        self.status.produced += len(outputs)

    def _skip(self, message: Inbound, order: SkipOrdered) -> list[Outbound]:
        """Carry out an operator's order: the message is dead-lettered, not handled, and the
        skip is recorded; both are committed with the offset past it (skips.py)."""
        name, position = self.config.name, (message.topic, message.partition, message.offset)
        letter = dead_letter(message, name, skip_reason(order), self.config.deadletter_topic)
        letter_id = dead_letter_id(name, *position)
        self._skipped.add(position)
        self.status.consumed += 1
        metrics.DEAD_LETTERS.labels(name, message.topic).inc()
        log.warning(
            "message skipped by an operator's order",
            processor=name,
            position=f"{message.topic}/{message.partition}@{message.offset}",
            operator=order.operator,
            reason=order.reason,
            dead_letter_id=str(letter_id),
        )
        return [letter, skipped_record(order, self.config.skip_orders_topic, letter_id)]

    def _tick_due(self) -> bool:
        if self.config.tick_seconds is None:
            return False
        now = time.monotonic()
        if now - self._last_tick < self.config.tick_seconds:
            return False
        self._last_tick = now
        return True

    @property
    def _hold_limit(self) -> float:
        # The broker aborts a transaction past its timeout within its cleanup interval (10 s
        # by default): an input held longer than that is held by one it will not end.
        return self._kafka.transaction_timeout_ms / 1000 + 30

    def _watch_held(self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]) -> None:
        """Note input partitions whose last stable offset does not move while records wait
        behind it and everything before it is consumed (ProcessorStatus.held)."""
        now = time.time()
        for tp, position in positions.items():
            key = f"{tp.topic}/{tp.partition}"
            stable, high = consumer.last_stable_offset(tp), consumer.highwater(tp)
            if stable is None or high is None or high <= stable or position < stable:
                self._stable_since.pop(tp, None)
                self.status.held.pop(key, None)
                continue
            seen = self._stable_since.get(tp)
            if seen is None or seen[0] != stable:
                self._stable_since[tp] = (stable, now)
                self.status.held.pop(key, None)
            elif now - seen[1] > self._hold_limit and key not in self.status.held:
                self.status.held[key] = seen[1]
                log.error(
                    "input held by a transaction that does not end",
                    processor=self.status.name,
                    partition=key,
                    last_stable_offset=stable,
                    high_watermark=high,
                    since=datetime.fromtimestamp(seen[1], UTC).isoformat(),
                )

    def _update_lag(self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]) -> None:
        self._progress = dict(positions)
        self._watch_held(consumer, positions)
        for tp in positions:
            end = consumer.last_stable_offset(tp)
            if end is not None:  # None: nothing fetched from this partition yet
                self._ends[tp] = max(end, self._ends.get(tp, 0))
        self._refresh_lag()
        if len(self.status.lag) == len(positions) and not self.status.replaying:
            self.status.caught_up = self.status.caught_up or self.status.total_lag == 0

    def _refresh_lag(self) -> None:
        for tp, position in self._progress.items():
            if tp not in self._ends:
                continue
            lag = max(0, self._ends[tp] - position)
            self.status.lag[f"{tp.topic}/{tp.partition}"] = lag
            metrics.CONSUMER_LAG.labels(self.config.name, tp.topic, str(tp.partition)).set(lag)
        if self.status.total_lag == 0:
            self.status.waiting_since = None
        elif self.status.waiting_since is None:
            self.status.waiting_since = time.time()

    async def _watch(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        """Ask the broker for the inputs' end offsets, independently of the consuming loop.

        The loop's own view of the end comes from its fetches, so it goes stale exactly when
        it matters: when the loop is stuck (a hung commit) or fetches stop (the broker is
        gone). This look is what lets /healthz report a stall or a lost broker.
        """
        interval = self.config.lag_check_seconds
        unreachable_since: float | None = None
        while True:
            await asyncio.sleep(interval)
            try:
                ends = await asyncio.wait_for(
                    consumer.end_offsets(partitions), timeout=max(5.0, 2 * interval)
                )
            except Exception as error:  # noqa: BLE001 - whatever the cause, the broker is not answering
                if self.status.connected:
                    log.warning(
                        "broker not answering",
                        processor=self.config.name,
                        error=f"{type(error).__name__}: {error}",
                    )
                self.status.connected = False
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since >= self.config.reconnect_after_seconds:
                    self._reconnect = True  # the consuming loop restarts with new clients
                continue
            unreachable_since = None
            if not self.status.connected:
                log.info("broker answering again", processor=self.config.name)
            self.status.connected, self.status.lag_checked_at = True, time.time()
            for tp, end in ends.items():
                self._ends[tp] = max(end, self._ends.get(tp, 0))
            self._refresh_lag()


def _check_sizes(produced: list[Outbound]) -> None:
    """Refuse, before the transaction, an output no producer or broker would take."""
    for out in produced:
        # The framing of a record is under RECORD_FRAMING_BYTES: most outputs need no estimate.
        if (
            len(out.value) + len(out.key or b"") + RECORD_FRAMING_BYTES
            <= PRODUCER_MAX_REQUEST_BYTES
        ):
            continue
        if not fits_a_record(out.key, out.value):
            raise OutputTooLarge(
                f"{out.label or 'a message'} for {out.topic} would be "
                f"{record_bytes(out.key, out.value)} bytes, over the limit of "
                f"{PRODUCER_MAX_REQUEST_BYTES}"
            )


async def _first(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Until one of `events` is set (or `timeout` seconds have passed)."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _stop_quietly(client: Any, timeout: float = 10.0) -> None:
    """Stop a client without waiting forever: a producer flushes what it still holds, and
    against a broker that refuses it (NOT_ENOUGH_REPLICAS after a restart) it would retry
    for good, keeping the processor from restarting with fresh clients."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.stop(), timeout)


class _Metrics:
    """One processor's metric children, looked up once: `labels()` for every message costs a
    lock and a tuple, a measurable share of a small handler's time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.processing = metrics.PROCESSING_SECONDS.labels(name)
        self.transaction = metrics.TRANSACTION_SECONDS.labels(name)
        self._in: dict[tuple[str, str], Any] = {}
        self._out: dict[tuple[str, str], Any] = {}

    def events_in(self, topic: str, event_type: str) -> Any:
        child = self._in.get((topic, event_type))
        if child is None:
            child = self._in[(topic, event_type)] = metrics.EVENTS_IN.labels(
                self.name, topic, event_type
            )
        return child

    def events_out(self, topic: str, label: str) -> Any:
        child = self._out.get((topic, label))
        if child is None:
            child = self._out[(topic, label)] = metrics.EVENTS_OUT.labels(self.name, topic, label)
        return child


def _landed(outputs: Sequence[Outbound], sent: Sequence[Any]) -> list[Landed]:
    """Where each output of a committed transaction landed: its send's result (a future the
    commit has resolved; a test's fake producer may give none)."""
    return [
        Landed(out, metadata.partition, metadata.offset)
        for out, future in zip(outputs, sent, strict=True)
        if future is not None and (metadata := future.result()) is not None
    ]


def _stop_watching(handler: WatchesItsOutputs) -> None:
    try:
        handler.stopping()
    except Exception as error:  # noqa: BLE001 - stopping anyway; a start rebuilds what is lost
        log.warning("state not kept at stop", error=f"{type(error).__name__}: {error}")
