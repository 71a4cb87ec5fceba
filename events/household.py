"""Events about a household's facts: what was declared, visited and identified."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from events.envelope import Payload
from events.identity import ResidentId
from events.types import (
    Channel,
    EmploymentStatus,
    EventType,
    ExpenseKind,
    FactSource,
    LabourCapacity,
    Money,
    RegionCode,
    Relation,
    RescreeningReason,
    SignalKind,
)

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=2000)]
# Who sent an event to intake: the user of the bearer token and its role (interfaces.md), so an
# auditor sees who said what. Optional: events written before intake recorded it have neither.
UserId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Role = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Member(_Part):
    """One member of a household, as in the application body of interfaces.md."""

    person_id: ResidentId
    name: Name
    birth_date: date
    relation: Relation
    monthly_income: Money = Field(default=Decimal(0))
    labour_capacity: LabourCapacity
    employment_status: EmploymentStatus
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    in_school: bool = False
    chronic_illness: bool = False
    orphan: bool = False
    parents_unable_to_support: bool = False
    left_behind: bool = False


class Assets(_Part):
    deposits: Money = Field(default=Decimal(0))
    vehicles: int = Field(default=0, ge=0)
    residential_properties: int = Field(default=0, ge=0)


class RigidExpenses(_Part):
    medical: Money = Field(default=Decimal(0))
    education: Money = Field(default=Decimal(0))


class Emergency(_Part):
    """An emergency that befell the household on a date: each one is a ground of its own."""

    kind: SignalKind
    on: date


class DatedExpense(_Part):
    """A rigid expense on a date: it counts in R for the 12 months after it (over-time.md).

    Expenses declared in an application as "of the last 12 months" are dated on the
    application's effective date; a medical bill from a signal on the signal's date.
    """

    kind: ExpenseKind
    amount: Money
    on: date


class HouseholdDeclaration(Payload):
    """The household as an applicant or a visitor states it."""

    region_code: RegionCode
    channel: Channel
    members: list[Member] = Field(min_length=1, max_length=50)
    assets: Assets = Field(default_factory=Assets)
    rigid_expenses_12m: RigidExpenses = Field(default_factory=RigidExpenses)
    dwelling_unsafe: bool = False
    legal_supporter_able: bool = False


class ApplicationReceived(HouseholdDeclaration):
    """A household applied at a window, online, or through a grid worker (schema v2)."""

    event_type: ClassVar[EventType] = EventType.APPLICATION_RECEIVED
    schema_version: ClassVar[int] = 2
    submitted_by: UserId | None = None  # the clerk whose token sent it
    submitted_by_role: Role | None = None


class VisitCompleted(HouseholdDeclaration):
    """A grid worker's home-visit result: the household as found."""

    event_type: ClassVar[EventType] = EventType.VISIT_COMPLETED
    visit_id: str = Field(min_length=1, max_length=80)
    visitor: str = Field(min_length=1, max_length=80)
    findings: Text = ""
    submitted_by: UserId | None = None  # the user whose token sent it (visitor: who went)
    submitted_by_role: Role | None = None


class Discrepancy(_Part):
    person_id: ResidentId
    field: str
    declared: str
    recorded: str


class VisitRequested(Payload):
    """Identification or monitoring asks a grid worker to visit the household."""

    event_type: ClassVar[EventType] = EventType.VISIT_REQUESTED
    visit_id: str
    region_code: RegionCode
    reason: str
    person_ids: list[ResidentId] = Field(default_factory=list)
    discrepancies: list[Discrepancy] = Field(default_factory=list)


class HouseholdIdentified(Payload):
    """The facts a household is classified on, with where each fact came from."""

    event_type: ClassVar[EventType] = EventType.HOUSEHOLD_IDENTIFIED
    region_code: RegionCode
    trigger: str  # application | visit | signal:<kind>
    members: list[Member] = Field(min_length=1)
    assets: Assets
    rigid_expenses_12m: RigidExpenses
    dwelling_unsafe: bool
    legal_supporter_able: bool
    emergencies: list[Emergency] = Field(default_factory=list)
    # "members[<person_id>].monthly_income" -> record | declared | visit
    provenance: dict[str, FactSource] = Field(default_factory=dict)
    # The date the household is evaluated at: the later of its cause's effective date (in the
    # region's zone) and the previous evaluation's date, so an evaluation never goes backwards.
    # Absent on events written before over-time.md: the occurred_at date is used.
    evaluated_on: date | None = None
    # Every rigid expense with its date; R at the evaluation date sums those of the 12 months
    # before it. Absent on older events: rigid_expenses_12m is R as it stands.
    expenses: list[DatedExpense] | None = None


class NextRescreening(_Part):
    """A household's next date that matters after an evaluation, and what makes it matter.

    Policy versions are not named here: the scheduler adds the effective date of any approved
    version that falls earlier.
    """

    on: date
    reason: RescreeningReason
    person_id: ResidentId | None = None  # birthday: whose
    age: int | None = None  # birthday: the age crossed
    emergency: Emergency | None = None  # emergency_expired: which
    expense: DatedExpense | None = None  # expense_expired: which
    also: list[RescreeningReason] = Field(default_factory=list)  # other reasons that day


class HouseholdClassified(Payload):
    """The tier and tags of a household under the policy in force, and why."""

    event_type: ClassVar[EventType] = EventType.HOUSEHOLD_CLASSIFIED
    region_code: RegionCode
    effective_date: date
    tier: str
    tags: list[str] = Field(default_factory=list)
    policy_version: str
    rule_trace: dict[str, Any]
    next_rescreening: NextRescreening | None = None
