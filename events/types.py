"""Value types shared by every event: money, identifiers, closed enumerations."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

# Money is a non-negative Decimal; on the wire it is a string, so no float ever touches it.
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
HouseholdId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Timestamp = AwareDatetime


class EventType(StrEnum):
    """The event types of the closed loop (interfaces.md)."""

    APPLICATION_RECEIVED = "ApplicationReceived"
    RECORD_REPORTED = "RecordReported"
    SIGNAL_RECEIVED = "SignalReceived"
    RISK_WARNING_RAISED = "RiskWarningRaised"
    VISIT_REQUESTED = "VisitRequested"
    VISIT_COMPLETED = "VisitCompleted"
    HOUSEHOLD_IDENTIFIED = "HouseholdIdentified"
    HOUSEHOLD_CLASSIFIED = "HouseholdClassified"
    REFERRAL_ISSUED = "ReferralIssued"
    REFERRAL_WITHDRAWN = "ReferralWithdrawn"
    REFERRAL_OUTCOME_REPORTED = "ReferralOutcomeReported"
    REFERRAL_OVERDUE = "ReferralOverdue"
    CHAIN_SETTLED = "ChainSettled"
    # Over time (over-time.md): on the chain
    RESCREENING_DUE = "RescreeningDue"
    HOUSEHOLD_CLOSED = "HouseholdClosed"
    REFERRAL_AMENDED = "ReferralAmended"
    # On assist.policy
    POLICY_VERSION_PROPOSED = "PolicyVersionProposed"
    POLICY_VERSION_APPROVED = "PolicyVersionApproved"
    POLICY_VERSION_WITHDRAWN = "PolicyVersionWithdrawn"
    # On assist.clock: the system's time, as data
    CLOCK_ADVANCED = "ClockAdvanced"


class RescreeningReason(StrEnum):
    """Why a household is re-screened without a new application or signal (over-time.md)."""

    BIRTHDAY = "birthday"
    EMERGENCY_EXPIRED = "emergency_expired"
    EXPENSE_EXPIRED = "expense_expired"
    PERIODIC_REVIEW = "periodic_review"
    POLICY_VERSION = "policy_version"
    MEMBER_MOVED = "member_moved"


class ClosureReason(StrEnum):
    """Why a household's chain was closed: no member is left."""

    LAST_MEMBER_DIED = "last_member_died"
    LAST_MEMBER_MOVED = "last_member_moved"


class ExpenseKind(StrEnum):
    """The rigid expenses of domain.md (R = medical + education of the last 12 months)."""

    MEDICAL = "medical"
    EDUCATION = "education"


class Channel(StrEnum):
    WINDOW = "window"
    ONLINE = "online"
    GRID_WORKER = "grid_worker"
    HOME_VISIT = "home_visit"


class Relation(StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    OTHER = "other"


class LabourCapacity(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class EmploymentStatus(StrEnum):
    EMPLOYED = "employed"
    UNEMPLOYED = "unemployed"
    RETIRED = "retired"
    STUDENT = "student"
    NONE = "none"


class SignalKind(StrEnum):
    MAJOR_MEDICAL_EXPENSE = "major_medical_expense"
    UNEMPLOYMENT_REGISTERED = "unemployment_registered"
    DISABILITY_CERTIFIED = "disability_certified"
    DEATH_OF_MEMBER = "death_of_member"
    DISASTER = "disaster"
    SUDDEN_MAJOR_ILLNESS = "sudden_major_illness"
    MAJOR_ACCIDENT = "major_accident"
    INCOME_CHANGE = "income_change"
    SCHOOL_ENROLLMENT = "school_enrollment"


EMERGENCY_SIGNALS = frozenset(
    {
        SignalKind.DEATH_OF_MEMBER,
        SignalKind.DISASTER,
        SignalKind.SUDDEN_MAJOR_ILLNESS,
        SignalKind.MAJOR_ACCIDENT,
    }
)


class Outcome(StrEnum):
    ACCEPTED = "ACCEPTED"
    DELIVERED = "DELIVERED"
    DECLINED = "DECLINED"
    TRANSFERRED = "TRANSFERRED"


FINAL_OUTCOMES = frozenset({Outcome.DELIVERED, Outcome.DECLINED, Outcome.TRANSFERRED})


class ReferralStatus(StrEnum):
    """Where a referral stands, as departments, auditors and operators see it."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    DECLINED = "declined"
    TRANSFERRED = "transferred"
    WITHDRAWN = "withdrawn"


FINAL_REFERRAL_STATUSES = frozenset(
    {
        ReferralStatus.DELIVERED,
        ReferralStatus.DECLINED,
        ReferralStatus.TRANSFERRED,
        ReferralStatus.WITHDRAWN,
    }
)
REFERRAL_STATUS_OF_OUTCOME = {
    Outcome.ACCEPTED: ReferralStatus.ACCEPTED,
    Outcome.DELIVERED: ReferralStatus.DELIVERED,
    Outcome.DECLINED: ReferralStatus.DECLINED,
    Outcome.TRANSFERRED: ReferralStatus.TRANSFERRED,
}


class DeclineReason(StrEnum):
    NOT_ELIGIBLE = "not_eligible"
    NOT_COVERED = "not_covered"
    DUPLICATE = "duplicate"
    UNREACHABLE = "unreachable"


class FactSource(StrEnum):
    """Where an identified fact came from (identification's provenance)."""

    RECORD = "record"
    DECLARED = "declared"
    VISIT = "visit"


class Department(StrEnum):
    """The functional departments of domain.md; each has its own referral topic."""

    CIVIL_AFFAIRS = "civil_affairs"
    MEDICAL_SECURITY = "medical_security"
    EDUCATION = "education"
    HOUSING = "housing"
    HUMAN_RESOURCES = "human_resources"
    EMERGENCY_MANAGEMENT = "emergency_management"
    DISABLED_PERSONS_FEDERATION = "disabled_persons_federation"
    CHARITY = "charity"


class Program(StrEnum):
    """Assistance programs of the push table (domain.md)."""

    EXTREME_POVERTY_SUPPORT = "extreme_poverty_support"
    MINIMUM_LIVING_ALLOWANCE = "minimum_living_allowance"
    MEDICAL_ASSISTANCE = "medical_assistance"
    EDUCATION_ASSISTANCE = "education_assistance"
    HOUSING_ASSISTANCE = "housing_assistance"
    EMPLOYMENT_ASSISTANCE = "employment_assistance"
    TEMPORARY_ASSISTANCE = "temporary_assistance"
    DISASTER_RELIEF = "disaster_relief"
    DISABILITY_NURSING_SUBSIDY = "disability_nursing_subsidy"
    DISABILITY_LIVING_SUBSIDY = "disability_living_subsidy"
    ORPHAN_BASIC_LIVING = "orphan_basic_living"
    UNSUPPORTED_CHILD_ALLOWANCE = "unsupported_child_allowance"
    CHILD_CARE_SERVICE = "child_care_service"
    ELDERLY_MEAL_ASSISTANCE = "elderly_meal_assistance"
    CHARITY_LINKAGE = "charity_linkage"
