"""Intake's events made durable in group-committed transactions, or not recorded at all.

A request is answered 202 once its event is committed, and 503 with Retry-After when the
broker has not confirmed it within ASSIST_INTAKE_DURABLE_SECONDS (5 s), saying that nothing
was recorded. That must be true, and with a plain produce it would not be: a send that timed
out stays in the client's buffer, or in the broker's socket, and may land later. So intake
writes in Kafka transactions, which read_committed consumers (all of ours) see only once
committed, and commits none that holds a request already told "not recorded":

* One loop takes every pending request, begins a transaction, sends their events and waits
  until the broker has them; the commit then runs on its own while the loop sends the next
  batch with a second producer (a transaction per batch, not per request: group commit).
  Batches are sent one after the other, so the log keeps the order requests came in. Two
  producers, because a producer's next transaction waits for the broker to finish writing the
  markers of its last one: back to back, one producer managed a transaction per 27 ms, two
  taking turns one per 3 ms (on the 2-core test machine).
* A batch not confirmed before its first request's deadline (less a reserve for the commit) is
  never committed: its requests get "not recorded" and its producer is replaced. The new one's
  init, under the same transactional.id, fences the old one and makes the broker abort what it
  left open; so does intake's own restart, and the broker aborts a transaction open longer than
  its timeout in any case. A request that waited in line past its deadline was never sent.
* A commit that was sent but not confirmed in time has an outcome nobody knows yet: its
  requests are told exactly that ("not confirmed"; a retry with the same Idempotency-Key never
  records twice, the chain writer drops a repeated event id). The reserve makes this the case
  only when the broker goes away within the few milliseconds of a commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, ProducerFenced

from events.envelope import Envelope
from services.intake.lanes import Lane, discard, idle, replace
from services.runtime import metrics
from services.runtime.kafka import make_producer
from services.runtime.logging import get_logger
from services.runtime.peek import event_type_header
from services.runtime.settings import KafkaSettings

log = get_logger()
# The broker aborts a transaction of ours left open this long (intake died mid-batch and did not
# come back): until then read_committed readers of its partitions wait behind it. A batch never
# legitimately stays open longer than the request deadline.
MIN_TRANSACTION_TIMEOUT_MS = 15_000
# Longest wait for a new producer's init before it is tried again with another.
CONNECT_SECONDS = 30.0
# Transactions in flight at once: one committing while the next batch is sent.
LANES = 2


class NotRecorded(Exception):  # noqa: N818 - an answer to a request
    """The event was not recorded and never will be: its transaction cannot commit."""


class NotConfirmed(Exception):  # noqa: N818 - an answer to a request
    """The commit was sent but not confirmed in time: the event may or may not be recorded."""


@dataclass(eq=False)
class _Request:
    topic: str
    key: bytes | None
    value: bytes
    label: str
    deadline: float  # on the event loop's clock
    done: asyncio.Future[None]
    batch: _Batch | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(eq=False)
class _Batch:
    requests: list[_Request]
    first: float  # the earliest deadline of its requests
    started: float = 0.0  # perf_counter() at its transaction's begin
    committing: bool = False  # the commit was sent: from here its outcome may be unknown
    abandoned: bool = False  # a request of it was told "not recorded": never commit it
    sends: list[asyncio.Future[object]] = field(default_factory=list)


class DurablePublisher:
    """publish() returns once the event is committed, or raises NotRecorded / NotConfirmed."""

    def __init__(
        self,
        kafka: KafkaSettings,
        transactional_id: str,
        service: str,
        seconds: float = 5.0,
        max_batch: int = 1000,
    ) -> None:
        timeout_ms = max(MIN_TRANSACTION_TIMEOUT_MS, int(seconds * 3000))
        self._kafka = kafka.model_copy(update={"transaction_timeout_ms": timeout_ms})
        self._lanes = [Lane(f"{transactional_id}.{n}") for n in range(LANES)]
        self._service = service
        self.seconds = seconds
        # The commit is begun only with this much of the first request's time left.
        self._reserve = min(1.0, seconds * 0.2)
        self._max_batch = max_batch
        self._queue: list[_Request] = []
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0  # committed, for tests and the benchmark's figures

    async def start(self) -> None:
        """Start the loop; wait (a while) for the first producer, as a plain one would."""
        self._task = asyncio.create_task(self._run(), name="intake.durable")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._ready.wait()), timeout=CONNECT_SECONDS)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.seconds + 10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        self._fail_queued("intake is stopping")

    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        """Commit the event, or raise NotRecorded / NotConfirmed within `seconds`."""
        label = event.event_type.value
        headers = (event_type_header(label),)
        await self.publish_raw(topic, event.to_bytes(), key or event.key, label, headers)

    async def publish_raw(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        label: str,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        loop = asyncio.get_running_loop()
        request = _Request(
            topic,
            key,
            value,
            label,
            loop.time() + self.seconds,
            loop.create_future(),
            None,
            headers,
        )
        request.done.add_done_callback(_retrieved)
        if self._stopping:
            raise NotRecorded("intake is stopping")
        self._queue.append(request)
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(request.done), timeout=self.seconds)
        except TimeoutError:
            self._give_up(request)
        request.done.result()  # raises what the request was told

    def _give_up(self, request: _Request) -> None:
        """The request's own deadline passed: tell it what is true of its event now."""
        if request.done.done():
            return
        batch = request.batch
        if batch is None:
            self._queue.remove(request)
            request.done.set_exception(NotRecorded("never sent: the broker was not reachable"))
        elif not batch.committing:
            batch.abandoned = True  # checked just before the commit, with no await in between
            request.done.set_exception(NotRecorded("not confirmed; its transaction is aborted"))
        else:
            request.done.set_exception(NotConfirmed("commit sent, outcome not yet known"))

    # -- the loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        turn = 0
        try:
            for lane in self._lanes:  # both ready before the first request needs them
                lane.producer = await self._connect(lane.transactional_id)
            while not self._stopping:
                lane = self._lanes[turn % len(self._lanes)]
                await idle(lane)
                if lane.producer is None:
                    lane.producer = await self._connect(lane.transactional_id)
                    if lane.producer is None:
                        break  # stopping
                batch = await self._next_batch()
                if batch is None:
                    continue
                turn += 1
                try:
                    sent = await self._send(lane.producer, batch)
                except Exception as error:  # noqa: BLE001 - whatever it was: not committed
                    self._fail(batch, NotRecorded(f"not sent: {_describe(error)}"))
                    sent = False
                if sent:
                    lane.committing = asyncio.create_task(self._commit(lane, batch))
                else:
                    await self._renew(lane)
        finally:
            for lane in self._lanes:
                await idle(lane)
                await replace(lane)

    async def _renew(self, lane: Lane) -> None:
        """A new producer for the lane, at once: its init, under the same transactional id,
        makes the broker abort what the old one left open. Until then read_committed readers of
        the partitions it wrote to wait behind that transaction, other lanes' commits too."""
        await replace(lane)
        lane.producer = await self._connect(lane.transactional_id)

    async def _connect(self, transactional_id: str) -> AIOKafkaProducer | None:
        """A started transactional producer (its init fences any earlier one), or None."""
        backoff, failing = 0.2, False
        while not self._stopping:
            producer = make_producer(self._kafka, transactional_id=transactional_id)
            try:
                # A first init on a fresh cluster creates the transaction log: seconds.
                await asyncio.wait_for(producer.start(), timeout=CONNECT_SECONDS)
            except Exception as error:  # noqa: BLE001 - no broker yet: try again
                await discard(producer)
                if not failing:
                    log.warning("intake publisher cannot reach the broker", error=_describe(error))
                failing = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if failing:
                log.info("intake publisher connected again")
            self._ready.set()
            return producer
        return None

    async def _next_batch(self) -> _Batch | None:
        while not self._queue:
            self._wake.clear()
            if self._stopping:
                return None
            await self._wake.wait()
        now = asyncio.get_running_loop().time()
        taken: list[_Request] = []
        while self._queue and len(taken) < self._max_batch:
            request = self._queue.pop(0)
            if request.deadline - now < 2 * self._reserve:  # could not be confirmed in time
                request.done.set_exception(NotRecorded("waited too long for the broker"))
            else:
                taken.append(request)
        if not taken:
            return None
        batch = _Batch(taken, first=min(r.deadline for r in taken))
        for request in taken:
            request.batch = batch
        return batch

    async def _send(self, producer: AIOKafkaProducer, batch: _Batch) -> bool:
        """Begin the batch's transaction and send its events; True once the broker has them all.

        Batches are sent one at a time, so the log has them in the order they came."""
        batch.started = time.perf_counter()
        try:
            async with asyncio.timeout_at(batch.first - self._reserve):
                await producer.begin_transaction()
                for request in batch.requests:
                    try:
                        sent = await producer.send(
                            request.topic,
                            request.value,
                            key=request.key,
                            headers=list(request.headers) or None,
                        )
                    except MessageSizeTooLargeError as error:
                        request.done.set_exception(error)  # this message only: never added
                        continue
                    sent.add_done_callback(_retrieved)
                    batch.sends.append(sent)
                await asyncio.gather(*batch.sends)
        except Exception as error:  # noqa: BLE001 - not sent in time, or refused: not committed
            self._fail(batch, NotRecorded(f"not confirmed: {_describe(error)}"))
            return False
        return True

    async def _commit(self, lane: Lane, batch: _Batch) -> None:
        """Commit a sent batch (while the loop sends the next with the other lane); answer its
        requests, and give the lane a new producer when the batch did not commit."""
        try:
            committed = await self._committed(lane, batch)
        except Exception as error:  # noqa: BLE001 - a bug must not leave requests unanswered
            log.error("intake publisher failed", error=_describe(error))
            answer = NotConfirmed if batch.committing else NotRecorded
            self._fail(batch, answer(f"intake failed: {_describe(error)}"))
            committed = False
        if not committed:
            await self._renew(lane)

    async def _committed(self, lane: Lane, batch: _Batch) -> bool:
        producer = lane.producer
        assert producer is not None  # noqa: S101 - the loop gives a lane a batch only connected
        if not self._may_commit(batch):
            # Its events may be in the log by now, in a transaction that is never committed:
            # the new producer's init aborts it, and read_committed readers never see them.
            self._fail(batch, NotRecorded("a request of the batch gave up"))
            return False
        # The point of no return: from the commit request on, the broker may record the batch.
        batch.committing = True
        commit = asyncio.ensure_future(producer.commit_transaction())
        commit.add_done_callback(_retrieved)
        timeout = max(batch.first - asyncio.get_running_loop().time(), 0.0)
        try:
            await asyncio.wait_for(asyncio.shield(commit), timeout=timeout)
        except ProducerFenced:
            # Another producer's init came first and aborted this transaction.
            self._fail(batch, NotRecorded("fenced: the transaction was aborted"))
            return False
        except Exception as error:  # noqa: BLE001 - a timeout, or an answer we cannot read
            self._fail(batch, NotConfirmed(f"commit not confirmed: {_describe(error)}"))
            return False
        self.transactions += 1
        elapsed = time.perf_counter() - batch.started
        metrics.TRANSACTION_SECONDS.labels(self._service).observe(elapsed)
        for request in batch.requests:
            if not request.done.done():
                request.done.set_result(None)
                metrics.EVENTS_OUT.labels(self._service, request.topic, request.label).inc()
        return True

    def _may_commit(self, batch: _Batch) -> bool:
        """Whether the batch may still be committed: none of its requests was told otherwise,
        and there is time left for the commit. No await may come between this and the commit."""
        now = asyncio.get_running_loop().time()
        return not batch.abandoned and now < batch.first - self._reserve

    def _fail(self, batch: _Batch, error: Exception) -> None:
        waiting = [r for r in batch.requests if not r.done.done()]
        for request in waiting:
            request.done.set_exception(error)
        log.warning(
            "events not recorded" if isinstance(error, NotRecorded) else "events not confirmed",
            requests=len(batch.requests),
            reason=str(error),
        )

    def _fail_queued(self, reason: str) -> None:
        queued, self._queue = self._queue, []
        for request in queued:
            if not request.done.done():
                request.done.set_exception(NotRecorded(reason))


def _retrieved(future: asyncio.Future[object] | asyncio.Future[None]) -> None:
    """Mark a future's exception seen: whoever gave up on it already answered its request."""
    if not future.cancelled():
        future.exception()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
