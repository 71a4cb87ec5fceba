"""The clock's keeper and its HTTP routes, with a fake publisher: who may move time, and how."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from unit.scheduler.scheduler_events import TOPICS

from events.clock import ClockAdvanced, ClockMode
from events.envelope import Envelope
from services.runtime.auth import TokenEntry, TokenStore
from services.runtime.clock import ClockSettings, ClockView
from services.scheduler.app import SchedulerDeps, create_app
from services.scheduler.clock import CLOCK_KEY, ClockKeeper, tick_event

TOKENS = TokenStore(
    [
        TokenEntry("operator.zhao", "operator", "t-operator"),
        TokenEntry("auditor.li", "auditor", "t-auditor"),
        TokenEntry("civil.desk", "department:civil_affairs", "t-civil"),
    ]
)
OPERATOR = {"Authorization": "Bearer t-operator"}
AUDITOR = {"Authorization": "Bearer t-auditor"}
START = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


@dataclass
class FakePublisher:
    events: list[tuple[str, Envelope, bytes | None]] = field(default_factory=list)
    delay: float = 0.0
    failing: bool = False

    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        await asyncio.sleep(self.delay)
        if self.failing:
            raise ConnectionError("broker gone")
        self.events.append((topic, event, key))

    def ticks(self) -> list[ClockAdvanced]:
        return [e.payload for _, e, _ in self.events if isinstance(e.payload, ClockAdvanced)]


def keeper_of(
    mode: ClockMode, latest: datetime | None = START, publisher: FakePublisher | None = None
) -> tuple[ClockKeeper, FakePublisher]:
    settings = ClockSettings(clock=mode, clock_tick_seconds=0.01, time_zone="Asia/Shanghai")
    publisher = publisher or FakePublisher()

    async def latest_tick() -> Envelope | None:
        return tick_event(latest, ClockMode.MANUAL) if latest else None

    keeper = ClockKeeper(settings, publisher, TOPICS.clock, ClockView(settings), latest_tick)
    return keeper, publisher


def started(mode: ClockMode = ClockMode.MANUAL, **kwargs: Any) -> tuple[TestClient, FakePublisher]:
    keeper, publisher = keeper_of(mode, **kwargs)
    if mode is ClockMode.MANUAL:
        asyncio.run(keeper.run())  # reads the latest tick, then returns
    return TestClient(create_app(SchedulerDeps(TOKENS, keeper))), publisher


def test_show_needs_a_valid_token_of_any_role() -> None:
    client, _ = started()
    assert client.get("/v1/clock").status_code == 401
    assert client.get("/v1/clock", headers={"Authorization": "Bearer nope"}).status_code == 401
    reply = client.get("/v1/clock", headers={"Authorization": "Bearer t-civil"})
    assert reply.status_code == 200
    assert reply.json() == {
        "now": "2026-06-01T09:30:00+08:00",
        "mode": "manual",
        "today": "2026-06-01",
        "time_zone": "Asia/Shanghai",
    }


def test_an_operator_advances_by_days_and_the_tick_names_them() -> None:
    client, publisher = started()
    reply = client.post("/v1/clock/advance", json={"days": 3}, headers=OPERATOR)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "now": "2026-06-04T09:30:00+08:00",
        "previous": "2026-06-01T09:30:00+08:00",
        "mode": "manual",
        "advanced_by": "operator.zhao",
    }
    [(topic, event, key)] = publisher.events
    assert (topic, key, event.household_id, event.producer) == (
        TOPICS.clock,
        CLOCK_KEY,
        None,
        "scheduler",
    )
    assert event.payload == ClockAdvanced(
        now=START + timedelta(days=3), mode=ClockMode.MANUAL, advanced_by="operator.zhao"
    )
    shown = client.get("/v1/clock", headers=AUDITOR).json()
    assert (shown["now"], shown["today"]) == ("2026-06-04T09:30:00+08:00", "2026-06-04")


def test_advance_to_a_date_is_its_midnight() -> None:
    client, _ = started()
    reply = client.post("/v1/clock/advance", json={"to": "2027-01-01"}, headers=OPERATOR)
    assert reply.status_code == 200, reply.text
    assert reply.json()["now"] == "2027-01-01T00:00:00+08:00"


def test_only_an_operator_may_advance() -> None:
    client, publisher = started()
    assert client.post("/v1/clock/advance", json={"days": 1}).status_code == 401
    reply = client.post("/v1/clock/advance", json={"days": 1}, headers=AUDITOR)
    assert reply.status_code == 403
    assert "operator" in reply.json()["detail"]
    assert publisher.events == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "2026-06-01"}, "to"),  # today's midnight is already past
        ({"to": "2025-12-31"}, "to"),
        ({"to": "2027-01-01", "days": 2}, "to"),
        ({}, "to"),
        ({"days": 0}, "days"),
        ({"to": "next tuesday"}, "to"),
        ({"weeks": 2}, "weeks"),
    ],
)
def test_an_advance_that_is_not_forward_is_422_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    client, publisher = started()
    reply = client.post("/v1/clock/advance", json=body, headers=OPERATOR)
    assert reply.status_code == 422, reply.text
    assert field in [f["field"] for f in reply.json()["fields"]]
    assert publisher.events == []


def test_a_wall_clock_cannot_be_advanced() -> None:
    client, publisher = started(ClockMode.WALL)
    reply = client.post("/v1/clock/advance", json={"days": 1}, headers=OPERATOR)
    assert reply.status_code == 409
    assert "follows the wall clock" in reply.json()["detail"]
    shown = client.get("/v1/clock", headers=AUDITOR).json()
    assert shown["mode"] == "wall"
    assert abs(datetime.fromisoformat(shown["now"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_before_the_manual_clock_is_read_the_answer_is_503_with_retry_after() -> None:
    keeper, _ = keeper_of(ClockMode.MANUAL)  # its run() has not read the topic yet
    client = TestClient(create_app(SchedulerDeps(TOKENS, keeper)))
    for reply in (
        client.get("/v1/clock", headers=AUDITOR),
        client.post("/v1/clock/advance", json={"days": 1}, headers=OPERATOR),
    ):
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"


def test_a_tick_the_broker_did_not_take_moves_nothing() -> None:
    client, publisher = started()
    publisher.failing = True
    reply = client.post("/v1/clock/advance", json={"days": 1}, headers=OPERATOR)
    assert reply.status_code == 503
    publisher.failing = False
    assert client.get("/v1/clock", headers=AUDITOR).json()["today"] == "2026-06-01"


async def test_a_first_start_of_a_manual_clock_publishes_the_first_tick_at_the_wall_time() -> None:
    keeper, publisher = keeper_of(ClockMode.MANUAL, latest=None)
    await keeper.run()
    [tick] = publisher.ticks()
    assert (tick.mode, tick.advanced_by) == (ClockMode.MANUAL, None)
    assert abs(tick.now - datetime.now(UTC)) < timedelta(minutes=1)
    assert keeper.now() == tick.now


async def test_a_later_start_keeps_the_time_on_the_topic() -> None:
    keeper, publisher = keeper_of(ClockMode.MANUAL, latest=START + timedelta(days=400))
    await keeper.run()
    assert publisher.events == []
    assert keeper.now() == START + timedelta(days=400)


async def test_concurrent_advances_each_start_where_the_last_ended() -> None:
    keeper, publisher = keeper_of(ClockMode.MANUAL, publisher=FakePublisher(delay=0.01))
    await keeper.run()
    done = await asyncio.gather(*(keeper.advance("operator.zhao", days=1) for _ in range(5)))
    assert [a.now - START for a in done] == [timedelta(days=n) for n in range(1, 6)]
    assert [t.now for t in publisher.ticks()] == [a.now for a in done]
    assert keeper.now() == START + timedelta(days=5)


async def test_the_wall_clock_ticks_on_its_own() -> None:
    keeper, publisher = keeper_of(ClockMode.WALL, latest=None)
    task = asyncio.create_task(keeper.run())
    await asyncio.sleep(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    ticks = publisher.ticks()
    assert len(ticks) >= 3
    assert all(t.mode is ClockMode.WALL for t in ticks)
    assert [t.now for t in ticks] == sorted(t.now for t in ticks)
    assert len({e.event_id for _, e, _ in publisher.events}) == len(ticks)
