"""What the policy service answers: a version, its impact, its progress (interfaces.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class VersionView(BaseModel):
    """A version, its status and decisions, and the whole table it puts in force."""

    policy_version: str
    status: str
    effective_from: date
    based_on: str | None
    note: str | None
    proposed_by: str
    proposed_at: str
    approved_by: str | None
    approved_at: str | None
    withdrawn_by: str | None
    withdrawn_at: str | None
    withdrawal_reason: str | None
    regions: list[dict[str, Any]]
    service_level_days: dict[str, int]


class RegionImpactView(BaseModel):
    region_code: str
    tiers: dict[str, int]  # "OLD->NEW": households whose tier changes
    referrals_issued: dict[str, int]
    referrals_withdrawn: dict[str, int]
    minimum_living_gap_before: str  # CNY a month
    minimum_living_gap_after: str


class ImpactView(BaseModel):
    """The shadow run of a version (interfaces.md)."""

    policy_version: str
    effective_from: date
    households: int
    regions: list[RegionImpactView]


class ImpactProgress(BaseModel):
    done: int
    total: int
    running: bool
