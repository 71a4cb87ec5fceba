"""The six tiers, at and on both sides of every threshold, and against an exact oracle."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.types import EmploymentStatus, LabourCapacity, Relation, SignalKind
from services.rules import PolicyBook, RegionStandard
from services.rules.facts import (
    EMERGENCY_KINDS,
    Emergency,
    HouseholdFacts,
    Member,
    age_on,
)
from services.rules.tiers import (
    RULES,
    Tier,
    check_tiers,
    measure,
    recent_emergencies,
    tier_of,
)

ON = date(2026, 6, 1)
# Hangzhou: D = 1240, M = 1860, Y = 77000 / 12 = 6416.66..., asset limit 29760 per person.
HZ = PolicyBook.load_default().in_force("330100", ON)
D, M, LIMIT = Decimal(1240), Decimal(1860), Decimal(29760)
_seq = itertools.count(1)


def born(age: int, days_later: int = 0) -> date:
    """Birth date of someone whose `age`-th birthday is ON, moved `days_later` days later."""
    return date(ON.year - age, ON.month, ON.day) + timedelta(days=days_later)


def person(age: int = 40, days_later: int = 0, **kw: Any) -> Member:
    base = Member(
        person_id=f"p{next(_seq)}",
        name="member",
        birth_date=born(age, days_later),
        relation=Relation.OTHER,
        monthly_income=Decimal(0),
        labour_capacity=LabourCapacity.FULL,
        employment_status=EmploymentStatus.EMPLOYED,
    )
    return replace(base, **kw)


def frail(age: int = 70, days_later: int = 0, **kw: Any) -> Member:
    """A member without labour capacity (of the extreme-poverty groups when aged >= 60)."""
    return person(age, days_later, **({"labour_capacity": LabourCapacity.NONE} | kw))


def household(*members: Member, **kw: Any) -> HouseholdFacts:
    facts = HouseholdFacts("h1", "330100", members or (person(),), residential_properties=1)
    return replace(facts, **kw)


def earning(income: str | Decimal, n: int = 1, **kw: Any) -> HouseholdFacts:
    """An n-member working household whose first member earns all of `income`."""
    first = person(monthly_income=Decimal(income))
    return household(first, *(person() for _ in range(n - 1)), **kw)


def tier(facts: HouseholdFacts, standard: RegionStandard = HZ, on: date = ON) -> Tier:
    return tier_of(facts, standard, on)


# --- EXTREMELY_POOR -------------------------------------------------------------------------


def test_an_elderly_person_without_means_is_extremely_poor() -> None:
    assert tier(household(frail(70))) is Tier.EXTREMELY_POOR


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        (frail(60), Tier.EXTREMELY_POOR),  # 60th birthday today
        (frail(60, days_later=1), Tier.DIBAO),  # 59 until tomorrow
        (frail(15), Tier.EXTREMELY_POOR),
        (frail(16, days_later=1), Tier.EXTREMELY_POOR),  # still 15 today
        (frail(16), Tier.DIBAO),  # 16th birthday today
        (frail(40, disability_grade=4), Tier.EXTREMELY_POOR),
        (frail(40), Tier.DIBAO),
    ],
)
def test_extreme_poverty_age_and_disability_groups(member: Member, expected: Tier) -> None:
    assert tier(household(member)) is expected


def test_every_member_must_be_of_the_groups() -> None:
    assert tier(household(frail(70), frail(10))) is Tier.EXTREMELY_POOR
    assert tier(household(frail(70), frail(30))) is Tier.DIBAO


@pytest.mark.parametrize("capacity", [LabourCapacity.FULL, LabourCapacity.PARTIAL])
def test_any_labour_capacity_rules_out_extreme_poverty(capacity: LabourCapacity) -> None:
    facts = household(frail(70), frail(72, labour_capacity=capacity))
    assert tier(facts) is Tier.DIBAO


def test_an_able_legal_supporter_rules_out_extreme_poverty() -> None:
    assert tier(household(frail(70), legal_supporter_able=True)) is Tier.DIBAO


@pytest.mark.parametrize(
    ("income", "expected"),
    [("1239.99", Tier.EXTREMELY_POOR), ("1240", Tier.MARGINAL), ("1240.01", Tier.MARGINAL)],
)
def test_extreme_poverty_needs_pci_below_d(income: str, expected: Tier) -> None:
    assert tier(household(frail(70, monthly_income=Decimal(income)))) is expected


def test_extreme_poverty_needs_assets_ok() -> None:
    assert tier(household(frail(70), vehicles=1)) is Tier.NONE


# --- DIBAO and MARGINAL: per-capita income against D and M ----------------------------------


@pytest.mark.parametrize(
    ("income", "n", "expected"),
    [
        ("0", 1, Tier.DIBAO),
        ("1239.99", 1, Tier.DIBAO),
        ("1240", 1, Tier.MARGINAL),  # pci exactly D is not DIBAO
        ("1240.01", 1, Tier.MARGINAL),
        ("3719.99", 3, Tier.DIBAO),  # pci 1239.9966...: no rounding up to D
        ("3720", 3, Tier.MARGINAL),
        ("1859.99", 1, Tier.MARGINAL),
        ("1860", 1, Tier.NONE),  # pci exactly M is not MARGINAL
        ("5579.99", 3, Tier.MARGINAL),
        ("5580", 3, Tier.NONE),
    ],
)
def test_per_capita_income_thresholds(income: str, n: int, expected: Tier) -> None:
    assert tier(earning(income, n)) is expected


@pytest.mark.parametrize(
    ("deposits", "n", "expected"),
    [
        ("29760", 1, Tier.DIBAO),  # exactly the limit is ok
        ("29760.01", 1, Tier.NONE),
        ("89280", 3, Tier.DIBAO),
        ("89280.01", 3, Tier.NONE),
    ],
)
def test_deposits_per_person_limit(deposits: str, n: int, expected: Tier) -> None:
    assert tier(earning("0", n, deposits=Decimal(deposits))) is expected


@pytest.mark.parametrize(
    ("vehicles", "properties", "expected"),
    [(0, 0, Tier.DIBAO), (0, 1, Tier.DIBAO), (0, 2, Tier.NONE), (1, 0, Tier.NONE)],
)
def test_vehicles_and_properties(vehicles: int, properties: int, expected: Tier) -> None:
    facts = earning("0", vehicles=vehicles, residential_properties=properties)
    assert tier(facts) is expected


def test_failed_assets_fall_through_to_temporary_when_an_emergency_is_recent() -> None:
    facts = earning("0", vehicles=1, emergencies=(Emergency(SignalKind.MAJOR_ACCIDENT, ON),))
    assert tier(facts) is Tier.TEMPORARY


# --- RIGID_EXPENDITURE: R > 0, pci < Y, eff < M ---------------------------------------------

# One earner of 2000: pci is between M (1860) and Y; eff < M needs R > 12 * (2000 - 1860) = 1680.


@pytest.mark.parametrize(
    ("medical", "education", "expected"),
    [
        ("1680", "0", Tier.NONE),  # eff exactly M
        ("1680.01", "0", Tier.RIGID_EXPENDITURE),
        ("0", "1680.01", Tier.RIGID_EXPENDITURE),
        ("1000", "680.01", Tier.RIGID_EXPENDITURE),
        ("0", "0", Tier.NONE),
    ],
)
def test_rigid_expenditure_eff_below_m(medical: str, education: str, expected: Tier) -> None:
    facts = earning(
        "2000", medical_expenses_12m=Decimal(medical), education_expenses_12m=Decimal(education)
    )
    assert tier(facts) is expected


def test_pci_exactly_y_is_not_rigid_expenditure_even_when_y_does_not_terminate() -> None:
    # 12 members earning 77000 in all: pci = 77000 / 12 = Y exactly.
    huge_r = Decimal(10_000_000)
    assert tier(earning("77000", 12, medical_expenses_12m=huge_r)) is Tier.NONE
    rigid = earning("76999.99", 12, medical_expenses_12m=huge_r)
    assert tier(rigid) is Tier.RIGID_EXPENDITURE


def test_pci_against_a_round_y() -> None:
    standard = HZ.model_copy(update={"prior_year_disposable_income": Decimal(60000)})  # Y 5000
    huge_r = Decimal(100_000)
    assert tier(earning("5000", medical_expenses_12m=huge_r), standard) is Tier.NONE
    rigid = earning("4999.99", medical_expenses_12m=huge_r)
    assert tier(rigid, standard) is Tier.RIGID_EXPENDITURE


def test_rigid_expenditure_needs_assets_ok() -> None:
    facts = earning("2000", medical_expenses_12m=Decimal(5000), vehicles=1)
    assert tier(facts) is Tier.NONE


# --- TEMPORARY: an emergency in the last 90 days --------------------------------------------


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [
        (0, Tier.TEMPORARY),
        (90, Tier.TEMPORARY),
        (91, Tier.NONE),
        (-1, Tier.NONE),  # dated after the effective date
    ],
)
@pytest.mark.parametrize("kind", list(EMERGENCY_KINDS))
def test_emergency_window(days_before: int, kind: SignalKind, expected: Tier) -> None:
    emergency = Emergency(kind, ON - timedelta(days=days_before))
    assert tier(earning("9000", emergencies=(emergency,))) is expected


def test_an_emergency_does_not_change_an_earlier_tier() -> None:
    facts = earning("0", emergencies=(Emergency(SignalKind.DISASTER, ON),))
    assert tier(facts) is Tier.DIBAO


def test_recent_emergencies_latest_first() -> None:
    older = Emergency(SignalKind.DISASTER, ON - timedelta(days=30))
    newer = Emergency(SignalKind.MAJOR_ACCIDENT, ON - timedelta(days=3))
    stale = Emergency(SignalKind.DISASTER, ON - timedelta(days=200))
    facts = earning("0", emergencies=(older, stale, newer))
    assert recent_emergencies(facts, ON) == (newer, older)


# --- the trace of each check ----------------------------------------------------------------


def test_a_well_off_household_fails_every_rule_with_reasons() -> None:
    checks = check_tiers(earning("9000"), HZ, ON)
    assert [c.tier for c in checks] == list(Tier)
    assert all(not c.passed and c.reasons for c in checks[:-1])
    assert checks[-1].passed
    assert checks[1].reasons == ("pci 9000 >= D 1240",)
    assert checks[2].reasons == ("pci 9000 >= M 1860.0",)
    assert "R 0 is not > 0" in checks[3].reasons
    assert checks[4].reasons == ("no emergency between 2026-03-03 and 2026-06-01",)


def test_asset_reasons_name_the_limit() -> None:
    facts = earning("0", deposits=Decimal("30000"), vehicles=2, residential_properties=3)
    dibao = check_tiers(facts, HZ, ON)[1]
    assert dibao.reasons == (
        "deposits per person 30000 > limit 29760",
        "2 vehicle(s), none allowed",
        "3 residential properties, at most 1 allowed",
    )


def test_extreme_poverty_reasons_name_the_members() -> None:
    worker = person(45, person_id="w1")
    check = check_tiers(household(frail(70), worker), HZ, ON)[0]
    assert "member w1 aged 45, without disability grade" in check.reasons
    assert "member w1 has full labour capacity" in check.reasons
    assert dict(check.conditions)["pci < D"] is True


def test_checks_stop_at_the_deciding_rule() -> None:
    checks = check_tiers(earning("0"), HZ, ON)
    assert [c.tier for c in checks] == [Tier.EXTREMELY_POOR, Tier.DIBAO]


def test_a_household_without_members_is_refused() -> None:
    with pytest.raises(ValueError, match="no members"):
        measure(household(members=()), HZ)


def test_measures_are_exact_decimals() -> None:
    ms = measure(earning("1000", 3), HZ)
    assert ms.pci == Decimal("333.3333333333333333333333333")
    assert ms.pci_below_d
    assert ms.numbers()["Y"] == "6416.666666666666666666666667"


# --- properties: an exact oracle, determinism, monotonicity ---------------------------------

INCOMES = [
    Decimal(x)
    for x in ("0", "620", "1239.99", "1240", "1240.01", "1859.99", "1860", "2500", "4000")
]
money = st.one_of(
    st.sampled_from(INCOMES),
    st.decimals(min_value=0, max_value=8000, places=2, allow_nan=False, allow_infinity=False),
)


@st.composite
def members(draw: st.DrawFn, index: int) -> Member:
    age = draw(st.one_of(st.sampled_from([14, 15, 16, 17, 18, 59, 60, 61]), st.integers(1, 95)))
    return Member(
        person_id=f"p{index}",
        name=f"member {index}",
        # Birthdays today, tomorrow and yesterday put ages right at the thresholds.
        birth_date=born(age, draw(st.sampled_from([0, 0, 1, -1]))),
        relation=Relation.OTHER,
        monthly_income=draw(money),
        labour_capacity=draw(st.sampled_from(LabourCapacity)),
        employment_status=draw(st.sampled_from(EmploymentStatus)),
        disability_grade=draw(st.one_of(st.none(), st.integers(1, 4))),
    )


@st.composite
def households(draw: st.DrawFn) -> HouseholdFacts:
    n = draw(st.integers(1, 4))
    limit = LIMIT * n
    amounts = st.decimals(min_value=0, max_value=60000, places=2)
    emergencies = st.builds(
        Emergency,
        st.sampled_from(EMERGENCY_KINDS),
        st.integers(-5, 120).map(lambda d: ON - timedelta(days=d)),
    )
    return HouseholdFacts(
        household_id="h",
        region_code="330100",
        members=tuple(draw(members(i)) for i in range(n)),
        deposits=draw(
            st.one_of(
                st.sampled_from([limit, limit + Decimal("0.01")]),
                st.decimals(min_value=0, max_value=limit * Decimal("1.1"), places=2),
            )
        ),
        vehicles=draw(st.sampled_from([0, 0, 0, 1])),
        residential_properties=draw(st.integers(0, 2)),
        medical_expenses_12m=draw(st.one_of(st.just(Decimal(0)), amounts)),
        education_expenses_12m=draw(st.one_of(st.just(Decimal(0)), amounts)),
        legal_supporter_able=draw(st.booleans()),
        emergencies=tuple(draw(st.lists(emergencies, max_size=2))),
    )


def oracle(facts: HouseholdFacts, s: RegionStandard, on: date) -> Tier:
    """domain.md read literally, in exact rational arithmetic."""
    n = len(facts.members)
    i = sum((Fraction(m.monthly_income) for m in facts.members), Fraction(0))
    pci, d = i / n, Fraction(s.dibao_standard)
    m = Fraction(s.marginal_multiplier) * d
    y = Fraction(s.prior_year_disposable_income) / 12
    r = Fraction(facts.medical_expenses_12m + facts.education_expenses_12m)
    eff = (12 * i - r) / 12 / n
    assets_ok = (
        Fraction(facts.deposits) / n <= s.asset_months * d
        and facts.vehicles == 0
        and facts.residential_properties <= 1
    )
    groups = all(
        age_on(x.birth_date, on) >= 60 or age_on(x.birth_date, on) < 16 or x.disability_grade
        for x in facts.members
    )
    no_capacity = all(x.labour_capacity == "none" for x in facts.members)
    if groups and no_capacity and pci < d and not facts.legal_supporter_able and assets_ok:
        return Tier.EXTREMELY_POOR
    if pci < d and assets_ok:
        return Tier.DIBAO
    if pci < m and assets_ok:
        return Tier.MARGINAL
    if r > 0 and pci < y and eff < m and assets_ok:
        return Tier.RIGID_EXPENDITURE
    if any(on - timedelta(days=90) <= e.on <= on for e in facts.emergencies):
        return Tier.TEMPORARY
    return Tier.NONE


@settings(max_examples=500)
@given(households())
def test_tiers_agree_with_the_exact_oracle(facts: HouseholdFacts) -> None:
    assert tier(facts) is oracle(facts, HZ, ON)


@given(
    st.decimals(min_value=1800, max_value=6500, places=2),
    st.decimals(min_value=-50, max_value=50, places=2),
    st.integers(1, 3),
)
def test_the_rigid_expenditure_boundary_agrees_with_the_oracle(
    pci: Decimal, delta: Decimal, n: int
) -> None:
    # R around 12 * N * (pci - M), where eff crosses M.
    r = max(Decimal(0), 12 * n * (pci - M) + delta)
    facts = earning(pci * n, n, medical_expenses_12m=r)
    assert tier(facts) is oracle(facts, HZ, ON)


@given(households())
def test_pci_below_d_with_assets_ok_is_always_extremely_poor_or_dibao(
    facts: HouseholdFacts,
) -> None:
    ms = measure(facts, HZ)
    if ms.pci_below_d and ms.assets_ok:
        assert tier(facts) in (Tier.EXTREMELY_POOR, Tier.DIBAO)


@given(households())
def test_the_trace_is_consistent_with_the_tier(facts: HouseholdFacts) -> None:
    checks = check_tiers(facts, HZ, ON)
    assert [c.tier for c in checks] == list(Tier)[: len(checks)]
    assert all(not c.passed and c.reasons for c in checks[:-1])
    assert checks[-1].passed
    assert not checks[-1].reasons
    assert checks[-1].rule == RULES[checks[-1].tier]


def rank(t: Tier) -> int:
    return list(Tier).index(t)


@given(households(), st.decimals(min_value=0, max_value=5000, places=2), st.integers(0, 3))
def test_raising_an_income_never_yields_an_earlier_tier(
    facts: HouseholdFacts, raise_by: Decimal, who: int
) -> None:
    who %= len(facts.members)
    richer_member = replace(
        facts.members[who], monthly_income=facts.members[who].monthly_income + raise_by
    )
    members = (*facts.members[:who], richer_member, *facts.members[who + 1 :])
    assert rank(tier(replace(facts, members=members))) >= rank(tier(facts))


@given(households(), st.decimals(min_value=0, max_value=100000, places=2))
def test_raising_deposits_never_yields_an_earlier_tier(
    facts: HouseholdFacts, more: Decimal
) -> None:
    richer = replace(facts, deposits=facts.deposits + more)
    assert rank(tier(richer)) >= rank(tier(facts))


@given(households())
def test_emergencies_matter_only_for_temporary(facts: HouseholdFacts) -> None:
    without = tier(replace(facts, emergencies=()))
    with_them = tier(facts)
    assert without is (Tier.NONE if with_them is Tier.TEMPORARY else with_them)


@given(households())
def test_tiering_is_deterministic(facts: HouseholdFacts) -> None:
    assert check_tiers(facts, HZ, ON) == check_tiers(facts, HZ, ON)
