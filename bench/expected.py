"""What a household should receive: asked of the real domain code, never written down by hand.

An application carries no emergencies and no records exist in the benchmark, so identification
passes the declared facts through unchanged; the facts below are the ones classification and
referral then read, at the application's effective date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.rules.classify import classify
from services.rules.facts import HouseholdFacts, Member
from services.rules.programs import needed_programs
from services.rules.standards import PolicyBook

Referral = tuple[str, str]  # (program, department)


@dataclass(frozen=True)
class Expectation:
    tier: str
    tags: tuple[str, ...]
    referrals: frozenset[Referral]

    @property
    def chain_length(self) -> int:
        """ApplicationReceived, HouseholdIdentified, HouseholdClassified, one per referral."""
        return 3 + len(self.referrals)


def household_facts(household_id: str, body: Mapping[str, Any]) -> HouseholdFacts:
    """The facts of an application body, as the classification rules see them."""
    assets = body.get("assets", {})
    expenses = body.get("rigid_expenses_12m", {})
    members = tuple(
        Member(
            person_id=m["person_id"],
            name=m["name"],
            birth_date=date.fromisoformat(m["birth_date"]),
            relation=m["relation"],
            monthly_income=Decimal(str(m.get("monthly_income", "0"))),
            labour_capacity=m["labour_capacity"],
            employment_status=m["employment_status"],
            disability_grade=m.get("disability_grade"),
            in_school=bool(m.get("in_school", False)),
            chronic_illness=bool(m.get("chronic_illness", False)),
            orphan=bool(m.get("orphan", False)),
            parents_unable_to_support=bool(m.get("parents_unable_to_support", False)),
            left_behind=bool(m.get("left_behind", False)),
        )
        for m in body["members"]
    )
    return HouseholdFacts(
        household_id=household_id,
        region_code=body["region_code"],
        members=members,
        deposits=Decimal(str(assets.get("deposits", "0"))),
        vehicles=int(assets.get("vehicles", 0)),
        residential_properties=int(assets.get("residential_properties", 0)),
        medical_expenses_12m=Decimal(str(expenses.get("medical", "0"))),
        education_expenses_12m=Decimal(str(expenses.get("education", "0"))),
        dwelling_unsafe=bool(body.get("dwelling_unsafe", False)),
        legal_supporter_able=bool(body.get("legal_supporter_able", False)),
    )


def expected_referrals(
    household_id: str, body: Mapping[str, Any], policy: PolicyBook, on: date
) -> Expectation:
    """Tier, tags and the (program, department) referrals the loop must issue, exactly once."""
    facts = household_facts(household_id, body)
    classification = classify(facts, policy.in_force(facts.region_code, on), on)
    needs = needed_programs(facts, classification, on)
    return Expectation(
        tier=classification.tier.value,
        tags=tuple(t.value for t in classification.tags),
        referrals=frozenset((p.value, n.department.value) for p, n in needs.items()),
    )
