"""Events of the push and of result feedback: referrals to departments and their answers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from events.envelope import Payload
from events.identity import ResidentId
from events.types import DeclineReason, Department, EventType, Money, Outcome, Program


class ReferredMember(BaseModel):
    """A member as one department sees them: only what that program needs is filled in."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    person_id: ResidentId
    name: str
    birth_date: date | None = None
    in_school: bool | None = None
    disability_grade: int | None = None
    chronic_illness: bool | None = None
    employment_status: str | None = None
    labour_capacity: str | None = None
    monthly_income: Money | None = None
    orphan: bool | None = None
    parents_unable_to_support: bool | None = None
    left_behind: bool | None = None


# A keyed pseudonym of the household (HMAC under the deployment's secret), given instead of any
# member to a department that is not a government body (charity, PIPL Art. 23).
HouseholdRef = Annotated[
    str,
    Field(
        min_length=8,
        max_length=128,
        description="a keyed pseudonym of the household, stable across its referrals",
    ),
]


def _anonymised_names_no_member(household_ref: str | None, members: list[ReferredMember]) -> None:
    if household_ref is not None and members:
        raise ValueError("an anonymised referral (household_ref) names no member")


class ReferralIssued(Payload):
    """A program's referral, addressed to its department (push according to needs)."""

    event_type: ClassVar[EventType] = EventType.REFERRAL_ISSUED
    referral_id: str
    program: Program
    department: Department
    due_at: AwareDatetime
    region_code: str
    tier: str
    members: list[ReferredMember] = Field(default_factory=list)
    # The facts that justify this referral, and only those its department may see.
    grounds: dict[str, str] = Field(default_factory=dict)
    transferred_from: str | None = None
    # Charity's reference of the household instead of its members (absent for a government
    # department, and on referrals written before it existed).
    household_ref: HouseholdRef | None = None

    @model_validator(mode="after")
    def _anonymised(self) -> Self:
        _anonymised_names_no_member(self.household_ref, self.members)
        return self


class ReferralWithdrawn(Payload):
    """Re-screening removed the ground for an open referral."""

    event_type: ClassVar[EventType] = EventType.REFERRAL_WITHDRAWN
    referral_id: str
    program: Program
    department: Department
    reason: str


class Delivered(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    cash_amount: Money | None = None
    service: str | None = Field(default=None, max_length=500)


class ReferralOutcomeReported(Payload):
    """A department's answer to one of its referrals."""

    event_type: ClassVar[EventType] = EventType.REFERRAL_OUTCOME_REPORTED
    referral_id: str
    program: Program
    department: Department
    outcome: Outcome
    reason: DeclineReason | None = None
    delivered: Delivered | None = None
    transfer_to: Department | None = None
    note: str | None = Field(default=None, max_length=2000)
    answered_by: str | None = None  # the person of the department who answered


class ReferralOverdue(Payload):
    """No final answer by the due date: the referral is escalated."""

    event_type: ClassVar[EventType] = EventType.REFERRAL_OVERDUE
    referral_id: str
    program: Program
    department: Department
    due_at: AwareDatetime
    escalated_to: str


class ChainSettled(Payload):
    """Every referral of the household has a final answer."""

    event_type: ClassVar[EventType] = EventType.CHAIN_SETTLED
    referrals: int = Field(ge=0)
    delivered: list[str] = Field(default_factory=list)  # referral ids delivered


class ReferralAmended(Payload):
    """Re-screening changed the members an open referral concerns (or its grounds): the same
    referral, told anew to its department, instead of a withdrawal and a new referral."""

    event_type: ClassVar[EventType] = EventType.REFERRAL_AMENDED
    referral_id: str
    program: Program
    department: Department
    members: list[ReferredMember] = Field(default_factory=list)
    grounds: dict[str, str] = Field(default_factory=dict)
    reason: str
    household_ref: HouseholdRef | None = None

    @model_validator(mode="after")
    def _anonymised(self) -> Self:
        _anonymised_names_no_member(self.household_ref, self.members)
        return self
