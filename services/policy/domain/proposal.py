"""A proposed policy version: the body a user sends, its checks, and the whole table it resolves to.

A body says only what changes; the proposal event carries the whole table, resolved against the
version in force the day before it takes effect, so that what is approved is exactly what was
proposed and an auditor needs no other version to read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from events.policy import (
    Amount,
    Multiplier,
    PolicyVersionProposed,
    RegionCode,
    RegionValues,
    ServiceLevelDays,
    VersionName,
)
from services.rules.standards import PolicyBook
from services.rules.versions import VersionRecord


class RegionChange(BaseModel):
    """One region's figures that change; those left out keep the version before's values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region_code: RegionCode
    name: str | None = Field(default=None, min_length=1, max_length=100)
    dibao_standard: Amount | None = None
    prior_year_disposable_income: Amount | None = None
    marginal_multiplier: Multiplier | None = None
    asset_months: int | None = Field(default=None, ge=0, le=1200)
    medical_warning_amount: Amount | None = None
    time_zone: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (an IANA name)") from None
        return value


class VersionBody(BaseModel):
    """`POST /v1/policy/versions` (interfaces.md): amounts as strings or whole numbers."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "policy_version": "2027-01",
                "effective_from": "2027-01-01",
                "regions": [{"region_code": "330100", "dibao_standard": "1390"}],
                "service_level_days": {"civil_affairs": 10},
            }
        },
    )

    policy_version: VersionName
    effective_from: date
    regions: list[RegionChange] = Field(default_factory=list, max_length=1000)
    service_level_days: ServiceLevelDays = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=2000)


@dataclass(frozen=True)
class Problem:
    """A field of the body and why it is refused."""

    loc: tuple[str | int, ...]
    message: str


class ProposalRefused(ValueError):
    """The body names a field that cannot be: 422, naming it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{_path(p.loc)}: {p.message}" for p in self.problems))


def resolve(
    body: VersionBody,
    book: PolicyBook,
    records: Mapping[str, VersionRecord],
    today: date,
    proposed_by: str,
) -> PolicyVersionProposed:
    """The whole version the body proposes, or ProposalRefused naming every bad field.

    `book` holds the approved versions, `records` every version proposed so far, `today` is the
    system's date in the deployment's zone.
    """
    problems = list(_checks(body, book, records, today))
    if problems:
        raise ProposalRefused(problems)
    base = book.table_in_force(body.effective_from - timedelta(days=1))
    changes = {r.region_code: r for r in body.regions}
    regions = []
    for code, standard in sorted(base.regions.items()):
        values: dict[str, Any] = standard.model_dump(include=set(RegionValues.model_fields))
        change = changes.get(code)
        if change is not None:
            values |= change.model_dump(exclude_none=True)
        regions.append(values)
    return PolicyVersionProposed.model_validate(
        {
            "policy_version": body.policy_version,
            "effective_from": body.effective_from,
            "regions": regions,
            "service_level_days": {**base.service_levels, **body.service_level_days},
            "proposed_by": proposed_by,
            "based_on": base.policy_version,
            "note": body.note,
        }
    )


def _checks(
    body: VersionBody, book: PolicyBook, records: Mapping[str, VersionRecord], today: date
) -> Iterable[Problem]:
    if body.policy_version in records or book.has_version(body.policy_version):
        yield Problem(
            ("policy_version",),
            f"the name {body.policy_version!r} is already used by a version "
            "(whatever its status, a name is never reused)",
        )
    if body.effective_from <= today:
        yield Problem(
            ("effective_from",),
            f"must be after today ({today.isoformat()}): a version takes effect in the future",
        )
    same_day = _same_day(body.effective_from, records)
    if same_day is not None:
        yield Problem(
            ("effective_from",),
            f"version {same_day} ({_state(records[same_day])}) already takes effect on "
            f"{body.effective_from.isoformat()}: with two versions on one date the one in force "
            "would be ambiguous; withdraw it first or pick another date",
        )
    seen: set[str] = set()
    for i, region in enumerate(body.regions):
        if not book.knows_region(region.region_code):
            known = ", ".join(sorted(book.region_codes))
            yield Problem(
                ("regions", i, "region_code"),
                f"unknown region {region.region_code!r} (known: {known})",
            )
        if region.region_code in seen:
            yield Problem(("regions", i, "region_code"), "region listed twice")
        seen.add(region.region_code)


def _same_day(effective_from: date, records: Mapping[str, VersionRecord]) -> str | None:
    for name, record in records.items():
        if record.withdrawn_by is None and record.proposal.effective_from == effective_from:
            return name
    return None


def _state(record: VersionRecord) -> str:
    return "approved" if record.approved_by is not None else "proposed"


def _path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path
