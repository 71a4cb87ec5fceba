"""An input partition whose last stable offset stays below the high watermark, with everything
before it consumed, for longer than any transaction may stay open is reported held: its records
wait behind a transaction that never ends, which neither lag nor stall shows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition

from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings

TP = TopicPartition("assist.chain", 1)


@dataclass
class Offsets:
    """What the consumer learnt from its last fetch of each partition."""

    stable: dict[TopicPartition, int] = field(default_factory=dict)
    high: dict[TopicPartition, int] = field(default_factory=dict)

    def last_stable_offset(self, tp: TopicPartition) -> int | None:
        return self.stable.get(tp)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high.get(tp)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    # The processor module's own view of `time`, not the time module every library shares.
    clock_only = SimpleNamespace(time=fake.time, monotonic=time.monotonic)
    monkeypatch.setattr("services.runtime.processor.time", clock_only)
    return fake


def processor() -> Processor:
    kafka = KafkaSettings(transaction_timeout_ms=1000)  # held after 1 s + 30 s
    return Processor(ProcessorConfig("p", (TP.topic,), "dl"), lambda: None, kafka)  # type: ignore[arg-type,return-value]


def test_a_last_stable_offset_stuck_below_waiting_records_is_reported_held(clock: Clock) -> None:
    p, offsets = processor(), Offsets({TP: 0}, {TP: 2})
    p._watch_held(offsets, {TP: 0})
    clock.now += 30.0
    p._watch_held(offsets, {TP: 0})
    assert p.status.held == {}  # an open transaction may take this long
    clock.now += 2.0
    p._watch_held(offsets, {TP: 0})
    assert p.status.held == {"assist.chain/1": clock.now - 32.0}


def test_a_moving_last_stable_offset_is_not_held_however_long_records_wait(clock: Clock) -> None:
    p, offsets = processor(), Offsets({TP: 0}, {TP: 5})
    for step in range(1, 20):
        clock.now += 10.0
        offsets.stable[TP], offsets.high[TP] = step, step + 5  # busy: always a commit in flight
        p._watch_held(offsets, {TP: step})
    assert p.status.held == {}


def test_a_held_partition_is_released_when_its_transaction_ends(clock: Clock) -> None:
    p, offsets = processor(), Offsets({TP: 0}, {TP: 2})
    p._watch_held(offsets, {TP: 0})
    clock.now += 60.0
    p._watch_held(offsets, {TP: 0})
    assert "assist.chain/1" in p.status.held
    offsets.stable[TP] = 2  # aborted or committed at last
    p._watch_held(offsets, {TP: 2})
    assert p.status.held == {}


def test_records_not_yet_consumed_are_backlog_not_a_hold(clock: Clock) -> None:
    p, offsets = processor(), Offsets({TP: 7}, {TP: 9})
    p._watch_held(offsets, {TP: 3})  # still reading up to 7
    clock.now += 600.0
    p._watch_held(offsets, {TP: 3})
    assert p.status.held == {}
