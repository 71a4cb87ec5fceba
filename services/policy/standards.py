"""Regional assistance standards as versioned policy data, and the version in force on a date."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from events.types import Department

DEFAULT_RESOURCE = "standards.json"


class UnknownRegion(LookupError):
    """No policy version knows this region code."""

    def __init__(self, region_code: str) -> None:
        super().__init__(f"unknown region {region_code!r}: no policy version defines it")
        self.region_code = region_code


class NoStandardInForce(LookupError):
    """The region is known, but the date precedes every version of its standard."""

    def __init__(self, region_code: str, on: date, earliest: date) -> None:
        super().__init__(
            f"no standard in force for region {region_code!r} on {on.isoformat()}: "
            f"its earliest version takes effect on {earliest.isoformat()}"
        )
        self.region_code = region_code
        self.on = on
        self.earliest = earliest


def _not_float(value: Any) -> Any:
    # A JSON number would pass through float and lose cents; amounts must be written as strings.
    if isinstance(value, float | bool):
        raise ValueError('write amounts as strings (e.g. "1240.50"), not JSON numbers')
    return value


Amount = Annotated[Decimal, BeforeValidator(_not_float), Field(gt=0, allow_inf_nan=False)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegionValues(_Frozen):
    """One region's figures within a policy version, as written in the policy file."""

    region_code: RegionCode
    name: str = Field(min_length=1)
    dibao_standard: Amount
    prior_year_disposable_income: Amount
    # Below 1 the marginal line would fall under the minimum living standard.
    marginal_multiplier: Annotated[
        Decimal, BeforeValidator(_not_float), Field(ge=1, allow_inf_nan=False)
    ]
    asset_months: int = Field(ge=0)
    medical_warning_amount: Amount


class RegionStandard(RegionValues):
    """A region's standard under one policy version (amounts in CNY)."""

    policy_version: str
    effective_from: date

    @property
    def marginal_line(self) -> Decimal:
        """M = marginal_multiplier * D (monthly, per person)."""
        return self.marginal_multiplier * self.dibao_standard

    @property
    def asset_limit_per_person(self) -> Decimal:
        """The deposits one person may hold: asset_months * D."""
        return self.asset_months * self.dibao_standard


class PolicyVersion(_Frozen):
    """A set of regional figures that takes effect on a date."""

    policy_version: str = Field(min_length=1)
    effective_from: date
    regions: tuple[RegionValues, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _regions_unique(self) -> PolicyVersion:
        codes = [r.region_code for r in self.regions]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(
                f"policy version {self.policy_version}: regions listed twice: {duplicates}"
            )
        return self


class PolicyFile(_Frozen):
    """The policy file: service-level days per department and the versions of the standards."""

    service_level_days: dict[Department, Annotated[int, Field(gt=0)]]
    versions: tuple[PolicyVersion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyFile:
        missing = sorted(set(Department) - set(self.service_level_days))
        if missing:
            raise ValueError(f"service_level_days lacks departments: {missing}")
        names = [v.policy_version for v in self.versions]
        if len(set(names)) != len(names):
            raise ValueError("policy_version names must be unique")
        starts = [v.effective_from for v in self.versions]
        # Two versions starting the same day would leave the one in force ambiguous.
        if len(set(starts)) != len(starts):
            raise ValueError("two policy versions take effect on the same date")
        return self


@dataclass(frozen=True)
class PolicyBook:
    """Every version of every region's standard, and the departments' service-level days."""

    by_region: Mapping[str, tuple[RegionStandard, ...]]  # oldest first
    service_levels: Mapping[Department, int]

    @classmethod
    def from_json(cls, text: str | bytes) -> PolicyBook:
        """Parse and check a policy file (see standards.json for its shape)."""
        parsed = PolicyFile.model_validate_json(text)
        by_region: dict[str, list[RegionStandard]] = {}
        for version in sorted(parsed.versions, key=lambda v: v.effective_from):
            for values in version.regions:
                standard = RegionStandard(
                    **values.model_dump(),
                    policy_version=version.policy_version,
                    effective_from=version.effective_from,
                )
                by_region.setdefault(values.region_code, []).append(standard)
        return cls(
            by_region=MappingProxyType({code: tuple(v) for code, v in by_region.items()}),
            service_levels=MappingProxyType(dict(parsed.service_level_days)),
        )

    @classmethod
    def load_default(cls) -> PolicyBook:
        """The sample standards packaged with the project (regions.md)."""
        return _default_book()

    @property
    def region_codes(self) -> frozenset[str]:
        """Every region some version defines."""
        return frozenset(self.by_region)

    def knows_region(self, code: str) -> bool:
        """True when some policy version defines the region, whatever its date."""
        return code in self.by_region

    def in_force(self, region_code: str, on: date) -> RegionStandard:
        """The region's standard of the latest version that took effect on or before `on`."""
        versions = self.by_region.get(region_code)
        if versions is None:
            raise UnknownRegion(region_code)
        for standard in reversed(versions):
            if standard.effective_from <= on:
                return standard
        raise NoStandardInForce(region_code, on, versions[0].effective_from)

    def service_level_days(self, department: Department | str) -> int:
        """Days a department has to give a final answer to a referral."""
        return self.service_levels[Department(department)]


@functools.cache
def _default_book() -> PolicyBook:
    text = resources.files("services.policy").joinpath(DEFAULT_RESOURCE).read_text(encoding="utf-8")
    return PolicyBook.from_json(text)
