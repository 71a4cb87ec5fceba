"""Which payload model belongs to which event type, at its current schema version."""

from __future__ import annotations

from events.clock import ClockAdvanced
from events.envelope import Payload
from events.household import (
    ApplicationReceived,
    HouseholdClassified,
    HouseholdIdentified,
    VisitCompleted,
    VisitRequested,
)
from events.monitoring import RecordReported, RiskWarningRaised, SignalReceived
from events.policy import PolicyVersionApproved, PolicyVersionProposed, PolicyVersionWithdrawn
from events.referral import (
    ChainSettled,
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.schedule import HouseholdClosed, RescreeningDue
from events.types import EventType

PAYLOAD_TYPES: dict[EventType, type[Payload]] = {
    model.event_type: model
    for model in (
        ApplicationReceived,
        RecordReported,
        SignalReceived,
        RiskWarningRaised,
        VisitRequested,
        VisitCompleted,
        HouseholdIdentified,
        HouseholdClassified,
        ReferralIssued,
        ReferralWithdrawn,
        ReferralOutcomeReported,
        ReferralOverdue,
        ChainSettled,
        RescreeningDue,
        HouseholdClosed,
        ReferralAmended,
        PolicyVersionProposed,
        PolicyVersionApproved,
        PolicyVersionWithdrawn,
        ClockAdvanced,
    )
}

assert set(PAYLOAD_TYPES) == set(EventType), "every event type needs a payload model"  # noqa: S101


def current_version(event_type: EventType) -> int:
    return PAYLOAD_TYPES[event_type].schema_version
