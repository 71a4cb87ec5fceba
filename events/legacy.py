"""Older schema versions, kept so that their contracts stay published and their events readable."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from events.envelope import Payload
from events.household import Assets, Member
from events.types import Channel, EventType, Money, RegionCode


class ApplicationReceivedV1(Payload):
    """ApplicationReceived v1: rigid expenses were two flat fields, not an object."""

    event_type: ClassVar[EventType] = EventType.APPLICATION_RECEIVED
    schema_version: ClassVar[int] = 1
    region_code: RegionCode
    channel: Channel
    members: list[Member] = Field(min_length=1, max_length=50)
    assets: Assets = Field(default_factory=Assets)
    medical_expenses_12m: Money = Field(default=Decimal(0))
    education_expenses_12m: Money = Field(default=Decimal(0))
    dwelling_unsafe: bool = False
    legal_supporter_able: bool = False


LEGACY_PAYLOADS: tuple[type[Payload], ...] = (ApplicationReceivedV1,)
