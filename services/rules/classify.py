"""Classify a household: its tier, its tags, and a trace an auditor can read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.rules.facts import HouseholdFacts
from services.rules.standards import RegionStandard
from services.rules.tags import Tag, tags_of
from services.rules.tiers import (
    RuleCheck,
    Tier,
    check_measured,
    emergency_window,
    fmt,
    measure,
    recent_emergencies,
)


@dataclass(frozen=True)
class RuleTrace:
    """Which rule decided, the numbers it compared, and why every earlier rule failed."""

    decided_by: str
    numbers: dict[str, str]
    checks: tuple[RuleCheck, ...]  # in evaluation order; the last one passed

    @property
    def failed(self) -> tuple[RuleCheck, ...]:
        """The rules checked before the deciding one, each with its reasons."""
        return self.checks[:-1]

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (strings, bools, lists, dicts) for the HouseholdClassified payload."""
        return {
            "decided_by": self.decided_by,
            "numbers": dict(self.numbers),
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class Classification:
    """The outcome of classifying a household under one policy version."""

    tier: Tier
    tags: tuple[Tag, ...]  # sorted
    policy_version: str
    trace: RuleTrace


def _context_numbers(facts: HouseholdFacts, standard: RegionStandard, on: date) -> dict[str, str]:
    start, _ = emergency_window(on)
    recent = recent_emergencies(facts, on)
    numbers = {
        "effective_date": on.isoformat(),
        "region_code": standard.region_code,
        "policy_version": standard.policy_version,
        "marginal_multiplier": fmt(standard.marginal_multiplier),
        "prior_year_disposable_income": fmt(standard.prior_year_disposable_income),
        "asset_months": str(standard.asset_months),
        "medical_expenses_12m": fmt(facts.medical_expenses_12m),
        "education_expenses_12m": fmt(facts.education_expenses_12m),
        "emergency_window_from": start.isoformat(),
    }
    if recent:
        numbers["latest_emergency"] = f"{recent[0].kind.value} on {recent[0].on.isoformat()}"
    return numbers


def classify(facts: HouseholdFacts, standard: RegionStandard, on: date) -> Classification:
    """The household's tier and tags at the effective date `on` under `standard`."""
    if not facts.members:
        raise ValueError(f"household {facts.household_id} has no members and cannot be classified")
    if standard.region_code != facts.region_code:
        raise ValueError(
            f"household {facts.household_id} is in region {facts.region_code}, "
            f"but the standard given is for region {standard.region_code}"
        )
    if standard.effective_from > on:
        raise ValueError(
            f"policy {standard.policy_version} takes effect on {standard.effective_from}, "
            f"after the effective date {on}"
        )
    facts = facts.at(on)  # R of the 12 months before `on`, when the expenses have dates
    ms = measure(facts, standard)
    checks = check_measured(facts, ms, on)
    tier = checks[-1].tier
    numbers = ms.numbers() | _context_numbers(facts, standard, on)
    return Classification(
        tier=tier,
        tags=tags_of(facts, tier, on),
        policy_version=standard.policy_version,
        trace=RuleTrace(decided_by=checks[-1].rule, numbers=numbers, checks=checks),
    )
