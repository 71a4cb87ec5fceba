"""A processor that fails run after run on one input position says it is stuck there (/healthz:
"stuck at topic/partition@offset: reason"), until it commits past it; failures that say nothing
about the message (the broker gone, a timeout) do not count."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from runtime_fakes import TP, Echo, FakeConsumer, FakeProducer

from services.runtime.http import health_report
from services.runtime.limits import MAX_MESSAGE_BYTES
from services.runtime.processor import OutputTooLarge, Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings
from services.runtime.stuck import FailureTracker, about_the_message

AT = (TP.topic, TP.partition, 17)


def test_three_failures_in_a_row_at_one_position_make_it_stuck() -> None:
    tracker = FailureTracker(stuck_after=3, wall=lambda: 1000.0)
    assert tracker.failed(AT, ValueError("boom")) is None
    assert tracker.failed(AT, ValueError("boom")) is None
    stuck = tracker.failed(AT, ValueError("boom"))
    assert stuck is not None and stuck.failures == 3 and stuck.since == 1000.0
    assert stuck.describe() == "stuck at t.assist.events/2@17: ValueError: boom"


def test_a_failure_elsewhere_starts_the_count_again() -> None:
    tracker = FailureTracker(stuck_after=2)
    tracker.failed(AT, ValueError("a"))
    assert tracker.failed((TP.topic, 2, 18), ValueError("b")) is None
    assert tracker.failed((TP.topic, 2, 18), ValueError("b")) is not None


def test_failures_that_are_not_the_messages_doing_neither_count_nor_reset() -> None:
    tracker = FailureTracker(stuck_after=2)
    tracker.failed(AT, ValueError("a"))
    for transient in (
        KafkaConnectionError(),
        KafkaTimeoutError(),
        TimeoutError(),
        ConnectionError(),
        asyncio.CancelledError(),
    ):
        assert not about_the_message(transient)
        assert tracker.failed(AT, transient) is None
    assert tracker.failed(None, ValueError("not at a message")) is None
    assert about_the_message(MessageSizeTooLargeError())
    assert tracker.failed(AT, ValueError("a")) is not None


def test_committing_past_the_position_ends_it() -> None:
    tracker = FailureTracker(stuck_after=1)
    tracker.failed(AT, ValueError("a"))
    tracker.committed({(TP.topic, 2): 17})  # not past it
    assert tracker.stuck is not None
    tracker.committed({(TP.topic, 1): 99})  # another partition
    assert tracker.stuck is not None
    tracker.committed({(TP.topic, 2): 18})
    assert tracker.stuck is None


class FailingAt(Processor):
    """Runs that fail while handling the message at AT, then stop the processor."""

    def __init__(self, errors: list[BaseException]) -> None:
        super().__init__(ProcessorConfig("p", (TP.topic,), "dl"), Echo, KafkaSettings())
        self.errors = errors

    async def _run_once(self) -> None:
        if not self.errors:
            self.stop()
            return
        self.status.running = True
        self._current = AT
        raise self.errors.pop(0)

    async def _restart_after(self, error: BaseException, backoff: float) -> None:
        await super()._restart_after(error, backoff=0)


async def test_healthz_reports_the_processor_stuck_where_and_why() -> None:
    processor = FailingAt([RuntimeError("not JSON")] * 3)
    await asyncio.wait_for(processor.run(), timeout=5)
    processor.status.running = processor.status.connected = processor.status.caught_up = True
    healthy, report = health_report("svc", [processor])
    [row] = report["processors"]
    assert not healthy
    assert row["state"] == "stuck"
    assert row["stuck"] == "stuck at t.assist.events/2@17: RuntimeError: not JSON"
    assert row["stuck_at"]["offset"] == 17 and row["stuck_at"]["failures"] == 3


async def test_a_broker_outage_does_not_make_a_processor_stuck() -> None:
    processor = FailingAt([KafkaConnectionError()] * 5)
    await asyncio.wait_for(processor.run(), timeout=5)
    assert processor.status.stuck is None and processor.status.restarts == 5


def processor() -> Processor:
    return Processor(ProcessorConfig("p", (TP.topic,), "dl", stuck_after=1), Echo, KafkaSettings())


async def test_an_output_no_record_may_hold_fails_the_run_at_its_input() -> None:
    p, handler = processor(), Echo()
    consumer = FakeConsumer({16: b"fine", 17: b"double" + b"x" * (MAX_MESSAGE_BYTES // 2 + 1000)})
    producer = FakeProducer()
    with pytest.raises(OutputTooLarge, match="over the limit"):
        await p._step(consumer, {0: producer}, handler, {TP: 16})  # type: ignore[arg-type]
    assert producer.committed == 0  # nothing of the batch is written
    assert p._current == AT
    await p._restart_after(OutputTooLarge("x"), backoff=0)
    assert p.status.stuck is not None and p.status.stuck.position == "t.assist.events/2@17"
