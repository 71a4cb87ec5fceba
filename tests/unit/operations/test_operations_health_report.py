"""/healthz's verdict: ready only when running, connected, caught up and not stalled."""

from __future__ import annotations

import time

import pytest

from services.runtime.http import health_report
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings, ServiceSettings
from services.runtime.status import ProcessorStatus


def status(**fields: object) -> ProcessorStatus:
    base: dict[str, object] = {"running": True, "connected": True, "caught_up": True}
    return ProcessorStatus("p", ("t",), **{**base, **fields})  # type: ignore[arg-type]


def test_an_idle_processor_is_not_stalled_however_long_ago_it_last_worked() -> None:
    now = time.time()
    assert not status(last_progress_at=now - 3600).stalled(30)
    # Input arrived a moment ago: waiting, not yet stalled, though the last progress is old.
    fresh = status(last_progress_at=now - 3600, lag={"t/0": 4}, waiting_since=now - 1)
    assert not fresh.stalled(30)
    assert fresh.stalled(0.5)


def test_progress_while_lag_remains_is_not_a_stall() -> None:
    now = time.time()
    busy = status(lag={"t/0": 900}, waiting_since=now - 600, last_progress_at=now - 0.2)
    assert not busy.stalled(30)


def verdict(processor_status: ProcessorStatus, stall: float = 30.0) -> tuple[bool, str]:
    processor = Processor(
        ProcessorConfig("p", ("t",), "dl"),
        lambda: None,  # type: ignore[arg-type,return-value]
        KafkaSettings(),
    )
    processor.status = processor_status
    healthy, report = health_report("svc", [processor], stall)
    return healthy, report["processors"][0]["state"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, (True, "running")),
        ({"running": False}, (False, "down")),
        ({"connected": False}, (False, "disconnected")),
        ({"caught_up": False}, (False, "catching up")),
        ({"lag": {"t/0": 3}, "waiting_since": 1.0, "last_progress_at": 1.0}, (False, "stalled")),
        ({"held": {"t/0": 1.0}}, (False, "held")),
    ],
)
def test_states(fields: dict[str, object], expected: tuple[bool, str]) -> None:
    assert verdict(status(**fields)) == expected


def test_the_stall_threshold_is_a_service_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings().stall_seconds == 30.0
    monkeypatch.setenv("ASSIST_STALL_SECONDS", "1.5")
    assert ServiceSettings().stall_seconds == 1.5
    now = time.time()
    waiting = status(lag={"t/0": 1}, waiting_since=now - 2, last_progress_at=now - 2)
    assert verdict(waiting, ServiceSettings().stall_seconds) == (False, "stalled")
    assert verdict(waiting, 30.0) == (True, "running")
