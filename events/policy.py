"""Events of policy versions on `assist.policy`: proposed, approved, withdrawn (over-time.md).

A proposal carries the whole table it would put in force (every region, every department's
service-level days), resolved against the version before it when proposed, so that what was
approved is exactly what was proposed and an auditor needs no other version to read it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from events.envelope import Payload
from events.types import Department, EventType

DEFAULT_TIME_ZONE = "Asia/Shanghai"


def _not_float(value: Any) -> Any:
    # A JSON number would pass through float and lose cents; amounts must be written as strings.
    if isinstance(value, float | bool):
        raise ValueError('write amounts as strings (e.g. "1240.50"), not JSON numbers')
    return value


Amount = Annotated[Decimal, BeforeValidator(_not_float), Field(gt=0, allow_inf_nan=False)]
Multiplier = Annotated[Decimal, BeforeValidator(_not_float), Field(ge=1, allow_inf_nan=False)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
VersionName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
ServiceLevelDays = dict[Department, Annotated[int, Field(gt=0, le=3650)]]


class RegionValues(BaseModel):
    """One region's figures within a policy version (regions.md), and its time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region_code: RegionCode
    name: str = Field(min_length=1, max_length=100)
    dibao_standard: Amount
    prior_year_disposable_income: Amount
    # Below 1 the marginal line would fall under the minimum living standard.
    marginal_multiplier: Multiplier
    asset_months: int = Field(ge=0, le=1200)
    medical_warning_amount: Amount
    # Dates of events are taken in this zone (over-time.md): an application at 07:00 Beijing
    # time is judged on that Beijing date, not on the previous UTC one.
    time_zone: str = DEFAULT_TIME_ZONE

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)"
            ) from None
        return value


class PolicyVersionProposed(Payload):
    """A user of role `policy` proposed a version; nothing changes until it is approved."""

    event_type: ClassVar[EventType] = EventType.POLICY_VERSION_PROPOSED
    policy_version: VersionName
    effective_from: date
    regions: list[RegionValues] = Field(min_length=1)
    service_level_days: ServiceLevelDays
    proposed_by: str
    based_on: str | None = None  # the version whose values it keeps where it says nothing
    note: str | None = Field(default=None, max_length=2000)


class PolicyVersionApproved(Payload):
    """A second user of role `policy` approved it: it takes effect on its effective date."""

    event_type: ClassVar[EventType] = EventType.POLICY_VERSION_APPROVED
    policy_version: VersionName
    approved_by: str


class PolicyVersionWithdrawn(Payload):
    """A version not yet in effect was withdrawn; it will never take effect."""

    event_type: ClassVar[EventType] = EventType.POLICY_VERSION_WITHDRAWN
    policy_version: VersionName
    withdrawn_by: str
    reason: str | None = Field(default=None, max_length=2000)
