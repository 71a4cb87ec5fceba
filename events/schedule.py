"""Events of a household over time: re-screening on a date that matters, closing a household."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field

from events.envelope import Payload
from events.household import DatedExpense, Emergency
from events.identity import ResidentId
from events.types import ClosureReason, EventType, RescreeningReason


class RescreeningDue(Payload):
    """A date that matters has come: the household is re-screened on its latest facts.

    `on` is the date (midnight in the region's zone); what caused it is named: the member
    (birthday, member_moved), the emergency, the expense or the policy version.
    """

    event_type: ClassVar[EventType] = EventType.RESCREENING_DUE
    reason: RescreeningReason
    on: date
    person_id: ResidentId | None = None
    age: int | None = Field(default=None, ge=0)
    emergency: Emergency | None = None
    expense: DatedExpense | None = None
    policy_version: str | None = None
    # Other reasons that fall on the same date: one re-screening covers them all.
    also: list[RescreeningReason] = Field(default_factory=list)


class HouseholdClosed(Payload):
    """No member is left (the last died or moved away): every open referral is withdrawn and
    the household is no longer re-screened."""

    event_type: ClassVar[EventType] = EventType.HOUSEHOLD_CLOSED
    reason: ClosureReason
    on: date
    person_id: ResidentId | None = None  # the last member
