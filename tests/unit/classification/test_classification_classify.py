"""classify(): tier, tags, policy version and a JSON-friendly trace an auditor can read."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.types import Department, EmploymentStatus, LabourCapacity, Relation, SignalKind
from services.rules import (
    Classification,
    Emergency,
    HouseholdFacts,
    Member,
    PolicyBook,
    Tag,
    Tier,
    classify,
)

ON = date(2026, 6, 1)
BOOK = PolicyBook.load_default()
HZ = BOOK.in_force("330100", ON)
_seq = itertools.count(1)


def person(age: int = 40, **kw: Any) -> Member:
    base = Member(
        person_id=f"p{next(_seq)}",
        name="member",
        birth_date=date(ON.year - age, ON.month, ON.day),
        relation=Relation.OTHER,
        monthly_income=Decimal(0),
        labour_capacity=LabourCapacity.FULL,
        employment_status=EmploymentStatus.EMPLOYED,
    )
    return replace(base, **kw)


def household(*members: Member, **kw: Any) -> HouseholdFacts:
    facts = HouseholdFacts("h1", "330100", members or (person(),), residential_properties=1)
    return replace(facts, **kw)


def json_friendly(value: object) -> bool:
    """Only str, bool, int, lists and str-keyed dicts of those (no Decimal, date, float)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_friendly(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_friendly(v) for v in value)
    return type(value) in (str, bool, int)


def test_a_dibao_household_with_a_severely_disabled_member() -> None:
    facts = household(person(45, monthly_income=Decimal(1000)), person(20, disability_grade=2))
    result = classify(facts, HZ, ON)
    assert result.tier is Tier.DIBAO
    assert result.tags == (Tag.DISABLED_IN_DIFFICULTY, Tag.SEVERELY_DISABLED)
    assert result.policy_version == "2026-01"
    assert result.trace.decided_by == "DIBAO: pci < D and assets_ok"
    assert [c.tier for c in result.trace.failed] == [Tier.EXTREMELY_POOR]


def test_the_trace_holds_the_numbers_compared() -> None:
    facts = household(
        person(45, monthly_income=Decimal("3000")),
        person(40),
        deposits=Decimal("10000"),
        medical_expenses_12m=Decimal("8000.50"),
        education_expenses_12m=Decimal("1200"),
    )
    numbers = classify(facts, HZ, ON).trace.numbers
    assert numbers == numbers | {
        "N": "2",
        "I": "3000",
        "pci": "1500",
        "D": "1240",
        "M": "1860.0",
        "Y": "6416.666666666666666666666667",
        "R": "9200.50",
        "eff": "1116.645833333333333333333333",
        "deposits": "10000",
        "deposits_per_person": "5000",
        "asset_limit": "29760",
        "asset_months": "24",
        "marginal_multiplier": "1.5",
        "prior_year_disposable_income": "77000",
        "medical_expenses_12m": "8000.50",
        "education_expenses_12m": "1200",
        "vehicles": "0",
        "residential_properties": "1",
        "effective_date": "2026-06-01",
        "emergency_window_from": "2026-03-03",
        "policy_version": "2026-01",
        "region_code": "330100",
    }
    assert "latest_emergency" not in numbers


def test_the_latest_recent_emergency_is_in_the_trace() -> None:
    facts = household(
        person(monthly_income=Decimal(9000)),
        emergencies=(
            Emergency(SignalKind.DISASTER, ON - timedelta(days=40)),
            Emergency(SignalKind.SUDDEN_MAJOR_ILLNESS, ON - timedelta(days=2)),
        ),
    )
    result = classify(facts, HZ, ON)
    assert result.tier is Tier.TEMPORARY
    assert result.trace.numbers["latest_emergency"] == "sudden_major_illness on 2026-05-30"


def test_a_none_household_explains_every_failed_rule() -> None:
    result = classify(household(person(monthly_income=Decimal(9000))), HZ, ON)
    assert result.tier is Tier.NONE
    assert result.trace.decided_by == "NONE: no rule applies"
    assert [c.tier for c in result.trace.failed] == list(Tier)[:-1]
    assert all(c.reasons for c in result.trace.failed)


def test_the_trace_serialises_to_json() -> None:
    facts = household(person(70, labour_capacity=LabourCapacity.NONE), vehicles=1)
    trace = classify(facts, HZ, ON).trace.as_dict()
    assert json_friendly(trace)
    assert json.loads(json.dumps(trace)) == trace
    first = trace["checks"][0]  # type: ignore[index]
    assert first["tier"] == "EXTREMELY_POOR"
    assert first["passed"] is False
    assert first["conditions"]["assets_ok"] is False
    assert first["reasons"] == ["1 vehicle(s), none allowed"]


def test_a_household_without_members_is_not_classifiable() -> None:
    with pytest.raises(ValueError, match="h1 has no members and cannot be classified"):
        classify(household(members=()), HZ, ON)


def test_the_standard_must_be_the_households_region() -> None:
    with pytest.raises(ValueError, match=r"region 330100.*region 500000"):
        classify(household(), BOOK.in_force("500000", ON), ON)


def test_the_standard_must_be_in_force_at_the_date() -> None:
    with pytest.raises(ValueError, match="takes effect on 2026-01-01"):
        classify(household(), HZ, date(2025, 12, 31))


def test_the_version_in_force_at_the_effective_date_decides() -> None:
    book = PolicyBook.from_json(
        json.dumps(
            {
                "service_level_days": {d.value: 10 for d in Department},
                "versions": [
                    _version("2026-01", "2026-01-01", "1240"),
                    _version("2026-07", "2026-07-01", "1300"),
                ],
            }
        )
    )
    facts = household(person(monthly_income=Decimal(1250)))
    june, july = date(2026, 6, 30), date(2026, 7, 1)
    before = classify(facts, book.in_force("330100", june), june)
    after = classify(facts, book.in_force("330100", july), july)
    assert (before.tier, before.policy_version) == (Tier.MARGINAL, "2026-01")
    assert (after.tier, after.policy_version) == (Tier.DIBAO, "2026-07")
    assert after.trace.numbers["D"] == "1300"


def _version(name: str, start: str, d: str) -> dict[str, Any]:
    region = {
        "region_code": "330100",
        "name": "Hangzhou",
        "dibao_standard": d,
        "prior_year_disposable_income": "77000",
        "marginal_multiplier": "1.5",
        "asset_months": 24,
        "medical_warning_amount": "20000",
    }
    return {"policy_version": name, "effective_from": start, "regions": [region]}


simple_households = st.builds(
    lambda incomes, deposits, vehicles, grade, days: household(
        *(person(30 + i, monthly_income=x, disability_grade=grade) for i, x in enumerate(incomes)),
        deposits=deposits,
        vehicles=vehicles,
        emergencies=(Emergency(SignalKind.MAJOR_ACCIDENT, ON - timedelta(days=days)),),
    ),
    st.lists(st.decimals(min_value=0, max_value=4000, places=2), min_size=1, max_size=4),
    st.decimals(min_value=0, max_value=150000, places=2),
    st.sampled_from([0, 0, 1]),
    st.one_of(st.none(), st.integers(1, 4)),
    st.integers(0, 120),
)


@given(simple_households)
def test_classify_is_deterministic(facts: HouseholdFacts) -> None:
    first: Classification = classify(facts, HZ, ON)
    assert classify(facts, HZ, ON) == first
    assert json.dumps(first.trace.as_dict()) == json.dumps(classify(facts, HZ, ON).trace.as_dict())


@given(simple_households)
def test_pci_below_d_with_assets_ok_is_never_a_later_tier(facts: HouseholdFacts) -> None:
    n = len(facts.members)
    income = sum(m.monthly_income for m in facts.members)
    assets_ok = facts.deposits <= n * 24 * 1240 and facts.vehicles == 0
    result = classify(facts, HZ, ON)
    if income < n * 1240 and assets_ok:
        assert result.tier not in (
            Tier.MARGINAL,
            Tier.RIGID_EXPENDITURE,
            Tier.TEMPORARY,
            Tier.NONE,
        )


@given(simple_households)
def test_the_trace_is_always_json_friendly(facts: HouseholdFacts) -> None:
    result = classify(facts, HZ, ON)
    trace = result.trace.as_dict()
    assert json_friendly(trace)
    assert trace["decided_by"] == result.trace.checks[-1].rule
    assert all(isinstance(v, str) for v in result.trace.numbers.values())
