"""Intake's "now" is the system's clock: a manual clock's time, or 503 while it is not known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from support.loop import POLICY, TOPICS, declaration, member
from unit.intake.test_intake_app import EMERGENCY, INTAKE, PSEUDONYMS, TOKENS, FakePublisher

from events.clock import ClockAdvanced, ClockMode
from events.envelope import new_event
from services.intake import app as intake_app
from services.intake.app import IntakeDeps, create_app
from services.intake.idempotency import IdempotencyKeys
from services.intake.visits import VisitIndex
from services.runtime.clock import ClockSettings, ClockView

# A manual clock set a year and a half ahead of the wall (a demo rehearsing 2028).
CLOCK = datetime(2028, 3, 1, 23, 30, tzinfo=UTC)  # 07:30 on 2 March in Beijing


def manual_clock(at: datetime | None) -> ClockView:
    view = ClockView(ClockSettings(clock=ClockMode.MANUAL))
    if at is not None:
        tick = ClockAdvanced(now=at, mode=ClockMode.MANUAL, advanced_by="operator.zhao")
        view.observe(new_event(tick, household_id=None, producer="scheduler", occurred_at=at))
    return view


def intake(clock: ClockView) -> tuple[TestClient, FakePublisher]:
    publisher, visits = FakePublisher(), VisitIndex()
    visits.households["V-1"] = "HH-9"
    deps = IntakeDeps(
        tokens=TOKENS,
        publisher=publisher,  # type: ignore[arg-type]
        topics=TOPICS,
        policy=POLICY,
        visits=lambda: visits,
        keys=IdempotencyKeys(),
        pseudonyms=PSEUDONYMS,
        clock=clock,
    )
    return TestClient(create_app(deps)), publisher


def test_an_application_without_occurred_at_happens_now_on_the_systems_clock() -> None:
    client, publisher = intake(manual_clock(CLOCK))
    reply = client.post("/v1/applications", json=declaration([member()]), headers=INTAKE)
    assert reply.status_code == 202, reply.text
    [(_, event, _)] = publisher.events
    assert (event.occurred_at, event.recorded_at) == (CLOCK, CLOCK)


def test_a_visit_without_occurred_at_too_and_a_signal_is_recorded_at_the_clocks_time() -> None:
    client, publisher = intake(manual_clock(CLOCK))
    body = declaration([member()]) | {"channel": "home_visit", "visitor": "grid-worker-7"}
    assert client.post("/v1/visits/V-1", json=body, headers=INTAKE).status_code == 202
    signal = {
        "kind": "disaster",
        "person_id": member()["person_id"],
        "region_code": "330100",
        "occurred_at": "2028-02-20T09:00:00+08:00",  # in the future of the wall, not the clock's
        "source_department": "emergency_management",
    }
    assert client.post("/v1/signals", json=signal, headers=EMERGENCY).status_code == 202
    visit, signalled = (event for _, event, _ in publisher.events)
    assert (visit.occurred_at, visit.recorded_at) == (CLOCK, CLOCK)
    assert signalled.recorded_at == CLOCK
    assert signalled.occurred_at == datetime(2028, 2, 20, 1, 0, tzinfo=UTC)


def test_after_the_clock_is_in_the_future() -> None:
    client, publisher = intake(manual_clock(CLOCK))
    later = (CLOCK + timedelta(days=1)).isoformat()
    body = declaration([member()]) | {"occurred_at": later}
    reply = client.post("/v1/applications", json=body, headers=INTAKE)
    assert reply.status_code == 422
    assert reply.json()["fields"][0]["field"] == "occurred_at"
    assert publisher.events == []


def test_a_child_born_today_in_beijing_is_not_born_in_the_future() -> None:
    # 07:30 on 2 March in Beijing is still 1 March in UTC.
    client, _ = intake(manual_clock(CLOCK))
    body = declaration([member(), member(date(2028, 3, 2), relation="child")])
    reply = client.post("/v1/applications", json=body, headers=INTAKE)
    assert reply.status_code == 202, reply.text


def test_before_the_manual_clock_is_known_requests_are_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake_app, "CLOCK_WAIT_SECONDS", 0.05)
    client, publisher = intake(manual_clock(None))
    reply = client.post("/v1/applications", json=declaration([member()]), headers=INTAKE)
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "1"
    assert publisher.events == []
    # The token is checked first: a stranger learns nothing about the clock.
    assert client.post("/v1/applications", json={}).status_code == 401
