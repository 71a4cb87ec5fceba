"""Events of dynamic monitoring: data providers' records and signals, warnings."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.envelope import Payload
from events.household import Role, UserId
from events.identity import ResidentId
from events.types import Department, EventType, Money, RegionCode, SignalKind


class SignalFacts(Payload):
    """What a data provider says about one person in a signal (the body of POST /v1/signals)."""

    kind: SignalKind
    person_id: ResidentId
    region_code: RegionCode
    source_department: Department
    amount: Money | None = None
    grade: int | None = Field(default=None, ge=1, le=4)
    monthly_income: Money | None = None


class SignalReceived(SignalFacts):
    """A data provider's monitoring signal about one person, and who sent it."""

    event_type: ClassVar[EventType] = EventType.SIGNAL_RECEIVED
    # The user and role of the token it came with (intake sets them, never the body); absent
    # on events written before intake recorded them.
    submitted_by: UserId | None = None
    submitted_by_role: Role | None = None


class RecordReported(Payload):
    """Verified facts about one person; a record states only what its source knows."""

    event_type: ClassVar[EventType] = EventType.RECORD_REPORTED
    person_id: ResidentId
    source_department: Department
    reported_at: AwareDatetime
    monthly_income: Money | None = None
    deposits: Money | None = None
    vehicles: int | None = Field(default=None, ge=0)
    residential_properties: int | None = Field(default=None, ge=0)
    submitted_by: UserId | None = None  # as on SignalReceived
    submitted_by_role: Role | None = None


class RiskWarningRaised(Payload):
    """A signal about a person of no known household crossed the region's threshold."""

    event_type: ClassVar[EventType] = EventType.RISK_WARNING_RAISED
    person_id: ResidentId
    region_code: RegionCode
    signal_kind: SignalKind
    signal_event_id: str
    reason: str
    amount: Money | None = None
    threshold: Money | None = None
