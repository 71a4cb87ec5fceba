"""The system's clock (interfaces.md): the wall clock, or a manual one moved by an operator.

Either way time reaches the stream processors as data: the scheduler publishes
`ClockAdvanced` on `assist.clock` (every few seconds on the wall clock; only when an operator
advances a manual one), and a processor with timers consumes that topic like any input. So a
restart or a replay fires each timer on the same ticks, and a test or a demo can move a year
in seconds. Services that answer HTTP (intake's default `occurred_at`, the policy service's
"today") follow the same topic through a `ClockView`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.clock import ClockAdvanced, ClockMode
from events.codec import DecodeError, decode_event
from events.envelope import Envelope
from events.policy import DEFAULT_TIME_ZONE
from services.runtime.kafka import make_consumer, partitions_of
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings

log = get_logger()


class ClockSettings(BaseSettings):
    """ASSIST_CLOCK=wall|manual, how often wall ticks are published, the deployment's zone."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_", extra="ignore")
    clock: ClockMode = ClockMode.WALL
    clock_tick_seconds: float = Field(default=1.0, gt=0)
    # The zone of "today" for what is not a region's (a policy version's effective date).
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.time_zone)


class ClockNotKnown(RuntimeError):
    """A manual clock whose first tick has not been read yet."""


def tick_of(message_value: bytes | None) -> datetime | None:
    """The time a message of `assist.clock` sets, or None when it is no tick."""
    try:
        event = decode_event(message_value)
    except DecodeError:
        return None
    return event.payload.now if isinstance(event.payload, ClockAdvanced) else None


class ClockTime:
    """A processor's view of the clock: the latest tick it consumed (never going back)."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def observe(self, at: datetime) -> None:
        if self.now is None or at > self.now:
            self.now = at

    def observe_message(self, value: bytes | None) -> bool:
        """Fold a message of `assist.clock`; False when it is no tick (a dead letter)."""
        at = tick_of(value)
        if at is None:
            return False
        self.observe(at)
        return True


class ClockView:
    """The system's time for request handlers: the wall clock, or the manual clock's latest
    tick as read from `assist.clock` by `follow`."""

    def __init__(self, settings: ClockSettings) -> None:
        self.settings = settings
        self._time = ClockTime()
        self.known = asyncio.Event()

    @property
    def mode(self) -> ClockMode:
        return self.settings.clock

    def now(self) -> datetime:
        if self.settings.clock is ClockMode.WALL:
            return datetime.now(UTC)
        if self._time.now is None:
            raise ClockNotKnown("the manual clock has not been read from assist.clock yet")
        return self._time.now

    def today(self, zone: tzinfo | None = None) -> date:
        return self.now().astimezone(zone or self.settings.zone).date()

    def observe(self, event: Envelope) -> None:
        if isinstance(event.payload, ClockAdvanced):
            self._time.observe(event.payload.now)
            self.known.set()

    async def follow(self, kafka: KafkaSettings, topic: str) -> None:
        """Read `assist.clock` from its start for good (a background job of the service)."""
        if self.settings.clock is ClockMode.WALL:
            self.known.set()
        while True:
            consumer = make_consumer(kafka, group_id=None)
            try:
                await consumer.start()
                partitions = await partitions_of(consumer, topic)
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                while True:
                    batches = await consumer.getmany(timeout_ms=500)
                    for records in batches.values():
                        for record in records:
                            at = tick_of(record.value)
                            if at is not None:
                                self._time.observe(at)
                                self.known.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - keep following whatever happens
                log.warning(
                    "clock follower failed; retrying", error=f"{type(error).__name__}: {error}"
                )
                await asyncio.sleep(2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 10)


@functools.cache
def _manual_clock() -> bool:
    return ClockSettings().clock is ClockMode.MANUAL


def recorded_now(cause: Envelope) -> datetime:
    """When a processor records an event that `cause` caused: now on the wall clock; on a
    manual clock the cause's own `recorded_at`, since time stands still between advances (a
    wall stamp there would put a derived event, and due dates counted from it, in another
    time than the system's)."""
    if _manual_clock():
        return cause.recorded_at
    return max(datetime.now(UTC), cause.recorded_at)
