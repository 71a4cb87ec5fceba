"""The system's clock as data: processors read time from `assist.clock`, never from the wall."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime

from events.envelope import Payload
from events.types import EventType


class ClockMode(StrEnum):
    WALL = "wall"  # ticks follow the wall clock
    MANUAL = "manual"  # time moves only when an operator advances it


class ClockAdvanced(Payload):
    """The system's time is now `now`; every timer at or before it is due."""

    event_type: ClassVar[EventType] = EventType.CLOCK_ADVANCED
    now: AwareDatetime
    mode: ClockMode
    advanced_by: str | None = None  # the operator who moved a manual clock
