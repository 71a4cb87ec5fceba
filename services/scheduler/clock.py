"""The one writer of `assist.clock`: wall-clock ticks, or a manual clock an operator advances.

On the wall clock a tick (ClockAdvanced, mode wall) is published every
ASSIST_CLOCK_TICK_SECONDS. On a manual clock (ASSIST_CLOCK=manual) the first start publishes
one tick at the wall time when the topic holds none; after that time moves only by `advance`,
one advance at a time and never backwards. Every tick is durable (acks=all) before it counts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from events.clock import ClockAdvanced, ClockMode
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, derived_event_id, new_event
from services.runtime.clock import ClockNotKnown, ClockSettings, ClockView
from services.runtime.kafka import ConsumerRecord, make_consumer, read_to_end
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings
from services.scheduler.domain.advance import advance_target

SERVICE = "scheduler"
CLOCK_KEY = b"clock"  # one key: compaction keeps the latest tick
RETRY_SECONDS = 2.0
log = get_logger()


class Publisher(Protocol):
    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None: ...


class ClockFollowsWall(RuntimeError):
    """An advance asked of a clock that follows the wall clock."""


class TickNotPublished(RuntimeError):
    """The broker did not take the tick: the clock has not moved."""


@dataclass(frozen=True)
class Advanced:
    previous: datetime
    now: datetime
    advanced_by: str


def tick_event(now: datetime, mode: ClockMode, advanced_by: str | None = None) -> Envelope:
    """A tick of the clock: no household's, its id derived from its time and mode."""
    return new_event(
        ClockAdvanced(now=now, mode=mode, advanced_by=advanced_by),
        household_id=None,
        producer=SERVICE,
        occurred_at=now,
        recorded_at=now,
        event_id=derived_event_id("clock", mode.value, now.isoformat()),
    )


class ClockKeeper:
    """Publishes the clock and answers what time it is (through a ClockView of the topic plus
    what this process has just published)."""

    def __init__(
        self,
        settings: ClockSettings,
        publisher: Publisher,
        topic: str,
        view: ClockView,
        latest_tick: Callable[[], Awaitable[Envelope | None]],
    ) -> None:
        self.settings = settings
        self.view = view
        self._publisher = publisher
        self._topic = topic
        self._latest_tick = latest_tick
        self._lock = asyncio.Lock()  # one advance at a time: each starts where the last ended
        self.ready = asyncio.Event()  # the latest tick on the topic is known

    @property
    def mode(self) -> ClockMode:
        return self.settings.clock

    def now(self) -> datetime:
        """The system's time; ClockNotKnown while a manual clock's latest tick is being read."""
        if self.mode is ClockMode.MANUAL and not self.ready.is_set():
            raise ClockNotKnown("the manual clock is being read from assist.clock")
        return self.view.now()

    def today(self) -> date:
        return self.now().astimezone(self.settings.zone).date()

    async def run(self) -> None:
        """The background job: find the latest tick, then keep the wall clock ticking (wall
        mode) or make sure a manual clock has a first tick (manual mode)."""
        await self._start()
        if self.mode is ClockMode.WALL:
            await self._tick_with_the_wall()

    async def _start(self) -> None:
        while True:
            try:
                latest = await self._latest_tick()
                if latest is None and self.mode is ClockMode.MANUAL:
                    latest = tick_event(datetime.now(UTC), ClockMode.MANUAL)
                    await self._publisher.publish(self._topic, latest, key=CLOCK_KEY)
                    log.info("manual clock started at the wall time", now=_iso(latest))
                if latest is not None:
                    self.view.observe(latest)
                    _warn_if_ahead(latest, self.mode)
                self.ready.set()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the broker may not be there yet
                log.warning(
                    "clock not read from its topic; retrying",
                    error=f"{type(error).__name__}: {error}",
                )
                await asyncio.sleep(RETRY_SECONDS)

    async def _tick_with_the_wall(self) -> None:
        while True:
            try:
                await self._publish(tick_event(datetime.now(UTC), ClockMode.WALL))
            except TickNotPublished as error:
                log.warning("wall clock tick not published", error=str(error.__cause__))
            await asyncio.sleep(self.settings.clock_tick_seconds)

    async def advance(
        self, user: str, *, to: date | None = None, days: int | None = None
    ) -> Advanced:
        """Move a manual clock forward (AdvanceRefused for a move that is not forward)."""
        if self.mode is ClockMode.WALL:
            raise ClockFollowsWall("the clock follows the wall clock (ASSIST_CLOCK=wall)")
        async with self._lock:
            previous = self.now()
            target = advance_target(previous, self.settings.zone, to=to, days=days)
            await self._publish(tick_event(target, ClockMode.MANUAL, user))
        log.info(
            "clock advanced",
            previous=previous.isoformat(),
            now=target.isoformat(),
            advanced_by=user,
            event_type="ClockAdvanced",
        )
        return Advanced(previous, target, user)

    async def _publish(self, event: Envelope) -> None:
        try:
            await self._publisher.publish(self._topic, event, key=CLOCK_KEY)
        except Exception as error:  # noqa: BLE001 - whatever the client raised: not moved
            raise TickNotPublished(
                f"the tick was not published: {type(error).__name__}: {error}"
            ) from error
        self.view.observe(event)


async def read_latest_tick(kafka: KafkaSettings, topic: str) -> Envelope | None:
    """The latest tick on `assist.clock` (committed only), read from its start to its end."""
    latest: Envelope | None = None

    def take(record: ConsumerRecord) -> None:
        nonlocal latest
        with contextlib.suppress(DecodeError):
            event = decode_event(record.value)
            if isinstance(event.payload, ClockAdvanced) and (
                latest is None or _at(event) > _at(latest)
            ):
                latest = event

    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        await read_to_end(consumer, topic, take)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 10)
    return latest


def _at(event: Envelope) -> datetime:
    payload = event.payload
    assert isinstance(payload, ClockAdvanced)  # noqa: S101 - only ticks get here
    return payload.now


def _iso(event: Envelope) -> str:
    return _at(event).isoformat()


def _warn_if_ahead(latest: Envelope, mode: ClockMode) -> None:
    # A clock never goes back: after a manual clock ran ahead, wall ticks move nothing until
    # the wall catches up. Say so once, rather than leave an operator wondering.
    if mode is ClockMode.WALL and _at(latest) > datetime.now(UTC):
        log.warning(
            "the clock on the topic is ahead of the wall clock: timers stand still until the "
            "wall clock passes it",
            clock=_iso(latest),
        )
