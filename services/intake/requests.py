"""What intake accepts over HTTP, and the checks it makes before anything enters a log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from events.household import HouseholdDeclaration, Member
from events.identity import ResidentId
from events.monitoring import RecordReported, SignalFacts, SignalReceived
from events.types import Department, HouseholdId, Money, SignalKind
from services.rules.standards import PolicyBook

# A clock a little ahead of ours is not an error; a date in the future is.
CLOCK_SKEW = timedelta(minutes=5)


def _latest_now(info: ValidationInfo) -> datetime:
    """Later than this is the future. On a manual clock (context `wall`: the wall clock's time)
    that is after the system's time and the real world's alike: the clock stands still between
    advances, while what happened meanwhile did happen."""
    wall = (info.context or {}).get("wall")
    now = _now(info)
    return max(now, wall) if isinstance(wall, datetime) else now


REQUIRED_BY_KIND: dict[SignalKind, str] = {
    SignalKind.MAJOR_MEDICAL_EXPENSE: "amount",
    SignalKind.DISABILITY_CERTIFIED: "grade",
    SignalKind.INCOME_CHANGE: "monthly_income",
}


def _policy(info: ValidationInfo) -> PolicyBook:
    context = info.context or {}
    policy = context.get("policy")
    return policy if isinstance(policy, PolicyBook) else PolicyBook.load_default()


def _now(info: ValidationInfo) -> datetime:
    context = info.context or {}
    now = context.get("now")
    return now if isinstance(now, datetime) else datetime.now(UTC)


def _check_region(code: str, info: ValidationInfo) -> str:
    if not _policy(info).knows_region(code):
        raise ValueError(f"unknown region {code!r}")
    return code


class ApplicationRequest(HouseholdDeclaration):
    """POST /v1/applications: the household as declared."""

    household_id: HouseholdId | None = None
    occurred_at: AwareDatetime | None = None

    _region = field_validator("region_code")(_check_region)

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is not None and value > _latest_now(info) + CLOCK_SKEW:
            raise ValueError("is in the future")
        return value

    @model_validator(mode="after")
    def _members_make_sense(self, info: ValidationInfo) -> ApplicationRequest:
        # The effective date is the date in the region's zone (over-time.md), not UTC's.
        effective = _policy(info).local_date(self.region_code, self.occurred_at or _now(info))
        _check_members(self.members, effective)
        return self


def _check_members(members: list[Member], effective: date) -> None:
    seen: set[str] = set()
    for index, member in enumerate(members):
        if member.birth_date > effective:
            raise ValueError(f"members[{index}].birth_date: {member.birth_date} is in the future")
        if member.person_id in seen:
            raise ValueError(f"members[{index}].person_id: listed twice in one household")
        seen.add(member.person_id)


class VisitRequest(ApplicationRequest):
    """POST /v1/visits/{visit_id}: the household as found on a home visit."""

    visitor: str = Field(min_length=1, max_length=80)
    findings: str = Field(default="", max_length=2000)


class SignalRequest(SignalFacts):
    """POST /v1/signals: a monitoring signal about one person (who sent it is the token's)."""

    occurred_at: AwareDatetime

    _region = field_validator("region_code")(_check_region)

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        if value > _latest_now(info) + CLOCK_SKEW:
            raise ValueError("is in the future")
        return value

    @model_validator(mode="after")
    def _kind_has_its_field(self) -> SignalRequest:
        required = REQUIRED_BY_KIND.get(self.kind)
        if required and getattr(self, required) is None:
            raise ValueError(f"{required}: required for a {self.kind.value} signal")
        for name in ("amount", "grade", "monthly_income"):
            if name != required and getattr(self, name) is not None:
                raise ValueError(f"{name}: not part of a {self.kind.value} signal")
        return self

    def payload(self, **sender: str) -> SignalReceived:
        return SignalReceived.model_validate(self.model_dump(exclude={"occurred_at"}) | sender)


class RecordRequest(BaseModel):
    """POST /v1/records: verified facts about one person (any of the four may be absent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    person_id: ResidentId
    source_department: Department
    recorded_at: AwareDatetime
    monthly_income: Money | None = None
    deposits: Money | None = None
    vehicles: int | None = Field(default=None, ge=0)
    residential_properties: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _states_something(self, info: ValidationInfo) -> RecordRequest:
        if self.recorded_at > _latest_now(info) + CLOCK_SKEW:
            raise ValueError("recorded_at: is in the future")
        facts = (self.monthly_income, self.deposits, self.vehicles, self.residential_properties)
        if all(f is None for f in facts):
            raise ValueError(
                "a record must state at least one of monthly_income, deposits, vehicles, "
                "residential_properties"
            )
        return self

    def payload(self, **sender: str) -> RecordReported:
        data = self.model_dump(exclude={"recorded_at"})
        return RecordReported.model_validate({**data, "reported_at": self.recorded_at, **sender})
