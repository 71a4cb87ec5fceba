"""Regional assistance standards as versioned policy data, and the version in force on a date."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.policy import PolicyVersionProposed, RegionValues
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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
class VersionTable:
    """One policy version as a whole: its regions and service-level days, from a date on."""

    policy_version: str
    effective_from: date
    regions: Mapping[str, RegionStandard]
    service_levels: Mapping[Department, int]


@dataclass(frozen=True)
class PolicyBook:
    """Every approved version of the standards, and which one is in force on a date.

    Immutable: `with_version` returns a new book, so a reader holding a book never sees it
    change under it.
    """

    versions: tuple[VersionTable, ...]  # by effective date, oldest first

    def __post_init__(self) -> None:
        starts = [v.effective_from for v in self.versions]
        # Two versions starting the same day would leave the one in force ambiguous.
        if len(set(starts)) != len(starts):
            raise ValueError("two policy versions take effect on the same date")
        names = [v.policy_version for v in self.versions]
        if len(set(names)) != len(names):
            raise ValueError("policy_version names must be unique")

    @classmethod
    def from_json(cls, text: str | bytes) -> PolicyBook:
        """Parse and check a policy file (see standards.json for its shape)."""
        parsed = PolicyFile.model_validate_json(text)
        tables = [
            _table(v.policy_version, v.effective_from, v.regions, parsed.service_level_days)
            for v in parsed.versions
        ]
        return cls(tuple(sorted(tables, key=lambda t: t.effective_from)))

    @classmethod
    def load_default(cls) -> PolicyBook:
        """The sample standards packaged with the project (regions.md): the first version."""
        return _default_book()

    def with_version(self, proposed: PolicyVersionProposed) -> PolicyBook:
        """This book with an approved version added (the same version again: unchanged)."""
        if self.has_version(proposed.policy_version):
            return self
        table = _table(
            proposed.policy_version,
            proposed.effective_from,
            proposed.regions,
            proposed.service_level_days,
        )
        kept = [v for v in self.versions if v.effective_from != table.effective_from]
        return PolicyBook(tuple(sorted([*kept, table], key=lambda t: t.effective_from)))

    def has_version(self, name: str) -> bool:
        return any(v.policy_version == name for v in self.versions)

    def version(self, name: str) -> VersionTable:
        for table in self.versions:
            if table.policy_version == name:
                return table
        raise LookupError(f"no approved policy version {name!r}")

    def table_in_force(self, on: date) -> VersionTable:
        """The latest version that took effect on or before `on` (the earliest, before any)."""
        for table in reversed(self.versions):
            if table.effective_from <= on:
                return table
        return self.versions[0]

    def versions_after(self, on: date) -> tuple[VersionTable, ...]:
        """The versions that take effect after `on`, soonest first."""
        return tuple(v for v in self.versions if v.effective_from > on)

    @property
    def region_codes(self) -> frozenset[str]:
        """Every region some version defines."""
        return frozenset(code for v in self.versions for code in v.regions)

    def knows_region(self, code: str) -> bool:
        """True when some policy version defines the region, whatever its date."""
        return any(code in v.regions for v in self.versions)

    def in_force(self, region_code: str, on: date) -> RegionStandard:
        """The region's standard of the latest version that took effect on or before `on`."""
        if not self.knows_region(region_code):
            raise UnknownRegion(region_code)
        for table in reversed(self.versions):
            if table.effective_from <= on and region_code in table.regions:
                return table.regions[region_code]
        earliest = min(v.effective_from for v in self.versions if region_code in v.regions)
        raise NoStandardInForce(region_code, on, earliest)

    def service_level_days(self, department: Department | str, on: date | None = None) -> int:
        """Days a department has to give a final answer to a referral issued on `on` (under
        the version in force then; the latest version when no date is given)."""
        table = self.table_in_force(on) if on is not None else self.versions[-1]
        return table.service_levels[Department(department)]

    def zone(self, region_code: str) -> tzinfo:
        """The region's time zone (the latest version's word on it)."""
        for table in reversed(self.versions):
            if region_code in table.regions:
                return _zone(table.regions[region_code].time_zone)
        raise UnknownRegion(region_code)

    def local_date(self, region_code: str, instant: datetime) -> date:
        """The date of `instant` in the region's zone: the effective date of an event."""
        if instant.utcoffset() is None:
            raise ValueError("an instant must be zone-aware")
        return instant.astimezone(self.zone(region_code)).date()

    def midnight(self, region_code: str, on: date) -> datetime:
        """The start of `on` in the region's zone: when a date that matters arrives there."""
        return datetime(on.year, on.month, on.day, tzinfo=self.zone(region_code))


@functools.cache
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def _table(
    name: str,
    effective_from: date,
    regions: tuple[RegionValues, ...] | list[RegionValues],
    service_levels: Mapping[Department, int],
) -> VersionTable:
    missing = sorted(set(Department) - set(service_levels))
    if missing:
        raise ValueError(f"policy version {name}: service_level_days lacks {missing}")
    standards = {
        r.region_code: RegionStandard(
            **r.model_dump(), policy_version=name, effective_from=effective_from
        )
        for r in regions
    }
    return VersionTable(
        name,
        effective_from,
        MappingProxyType(standards),
        MappingProxyType({Department(d): days for d, days in service_levels.items()}),
    )


@functools.cache
def _default_book() -> PolicyBook:
    text = resources.files("services.rules").joinpath(DEFAULT_RESOURCE).read_text(encoding="utf-8")
    return PolicyBook.from_json(text)


SHIPPED_BY = "system:shipped-standards"


def shipped_proposal() -> PolicyVersionProposed:
    """The shipped standards as the first policy version's proposal (over-time.md)."""
    first = _default_book().versions[0]
    return PolicyVersionProposed(
        policy_version=first.policy_version,
        effective_from=first.effective_from,
        regions=[
            RegionValues.model_validate(r.model_dump(include=set(RegionValues.model_fields)))
            for r in first.regions.values()
        ],
        service_level_days=dict(first.service_levels),
        proposed_by=SHIPPED_BY,
        note="the standards shipped with the project (regions.md)",
    )
