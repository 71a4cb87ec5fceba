"""Household facts: ages at a date and the invariants members and households keep."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.types import EmploymentStatus, LabourCapacity, Relation, SignalKind
from services.rules.facts import Emergency, HouseholdFacts, Member, age_on

BASE = Member(
    person_id="p1",
    name="Li Hua",
    birth_date=date(1980, 6, 1),
    relation=Relation.HEAD,
    monthly_income=Decimal(0),
    labour_capacity=LabourCapacity.FULL,
    employment_status=EmploymentStatus.EMPLOYED,
)


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2000, 6, 1), date(2026, 6, 1), 26),  # birthday on the day counts
        (date(2000, 6, 1), date(2026, 5, 31), 25),
        (date(2000, 6, 1), date(2026, 6, 2), 26),
        (date(2000, 12, 31), date(2026, 1, 1), 25),
        (date(2026, 6, 1), date(2026, 6, 1), 0),
        (date(2000, 2, 29), date(2026, 2, 28), 25),  # no 29 Feb in 2026: a year older on 1 Mar
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2000, 2, 29), date(2028, 2, 29), 28),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="after the date"):
        age_on(date(2026, 6, 2), date(2026, 6, 1))


def test_member_age_on() -> None:
    assert BASE.age_on(date(2026, 6, 1)) == 46
    assert BASE.age_on(date(2026, 5, 31)) == 45


@pytest.mark.parametrize("income", [Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity")])
def test_member_income_must_be_a_finite_non_negative_amount(income: Decimal) -> None:
    with pytest.raises(ValueError, match="monthly_income"):
        replace(BASE, monthly_income=income)


@pytest.mark.parametrize("grade", [0, 5, -1])
def test_disability_grade_is_1_to_4(grade: int) -> None:
    with pytest.raises(ValueError, match="disability_grade"):
        replace(BASE, disability_grade=grade)


@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_disability_grades_1_to_4_are_accepted(grade: int) -> None:
    assert replace(BASE, disability_grade=grade).disabled


@pytest.mark.parametrize(
    ("capacity", "has"),
    [(LabourCapacity.FULL, True), (LabourCapacity.PARTIAL, True), (LabourCapacity.NONE, False)],
)
def test_partial_labour_capacity_counts_as_capacity(capacity: LabourCapacity, has: bool) -> None:
    assert replace(BASE, labour_capacity=capacity).has_labour_capacity is has


def test_facts_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        BASE.monthly_income = Decimal(1)  # type: ignore[misc]


def household(**kw: Any) -> HouseholdFacts:
    facts = HouseholdFacts(household_id="h1", region_code="330100", members=(BASE,))
    return replace(facts, **kw)


@pytest.mark.parametrize("field", ["deposits", "medical_expenses_12m", "education_expenses_12m"])
def test_household_amounts_must_be_non_negative(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        household(**{field: Decimal("-1")})


@pytest.mark.parametrize("field", ["vehicles", "residential_properties"])
def test_household_counts_must_be_non_negative(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        household(**{field: -1})


def test_a_person_cannot_be_listed_twice() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        household(members=(BASE, replace(BASE, name="again")))


def test_a_household_may_have_no_members() -> None:
    assert household(members=()).members == ()


def test_rigid_expenses_are_medical_plus_education() -> None:
    facts = household(medical_expenses_12m=Decimal("100.10"), education_expenses_12m=Decimal("0.9"))
    assert facts.rigid_expenses_12m == Decimal("101.00")


def test_member_lookup() -> None:
    facts = household()
    assert facts.member("p1") is BASE
    with pytest.raises(KeyError, match="p2"):
        facts.member("p2")


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=40_000),
    st.integers(min_value=0, max_value=400),
)
def test_age_never_decreases_and_grows_by_at_most_one_a_year(
    birth: date, days: int, extra: int
) -> None:
    on = birth + timedelta(days=days)
    later = on + timedelta(days=extra)
    assert 0 <= age_on(birth, on) <= age_on(birth, later) <= age_on(birth, on) + 2
    if extra < 365:
        assert age_on(birth, later) - age_on(birth, on) <= 1


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2000, 12, 31)),
    st.integers(min_value=0, max_value=100),
)
def test_age_on_the_birthday_is_exact(birth: date, years: int) -> None:
    if (birth.month, birth.day) == (2, 29):
        return
    assert age_on(birth, birth.replace(year=birth.year + years)) == years
    if years > 0:
        day_before = birth.replace(year=birth.year + years) - timedelta(days=1)
        assert age_on(birth, day_before) == years - 1


class OtherLabourCapacity(StrEnum):
    """A look-alike enum, as another module (e.g. the events) may define."""

    NONE = "none"


def test_enum_fields_are_coerced_to_the_domain_enums() -> None:
    changes: dict[str, Any] = {
        "relation": "child",
        "labour_capacity": OtherLabourCapacity.NONE,
        "employment_status": "unemployed",
    }
    member = replace(BASE, **changes)
    assert member.relation is Relation.CHILD
    assert member.labour_capacity is LabourCapacity.NONE
    assert member.employment_status is EmploymentStatus.UNEMPLOYED
    assert not member.has_labour_capacity


def test_unknown_enum_values_are_refused() -> None:
    bad: dict[str, Any] = {"labour_capacity": "some"}
    with pytest.raises(ValueError, match="'some'"):
        replace(BASE, **bad)
    with pytest.raises(ValueError, match="'income_change'"):
        Emergency("income_change", date(2026, 1, 1))  # type: ignore[arg-type]


def test_emergency_kind_is_coerced() -> None:
    emergency = Emergency("disaster", date(2026, 1, 1))  # type: ignore[arg-type]
    assert emergency.kind is SignalKind.DISASTER


@pytest.mark.parametrize(("raw", "amount"), [(0, Decimal(0)), ("1240.50", Decimal("1240.50"))])
def test_int_and_str_amounts_become_decimals(raw: Any, amount: Decimal) -> None:
    member = replace(BASE, monthly_income=raw)
    facts = household(deposits=raw, medical_expenses_12m=raw, education_expenses_12m=raw)
    for value in (
        member.monthly_income,
        facts.deposits,
        facts.medical_expenses_12m,
        facts.education_expenses_12m,
    ):
        assert isinstance(value, Decimal)
        assert value == amount


@pytest.mark.parametrize("raw", [1240.5, True, None])
def test_float_bool_and_missing_amounts_are_refused(raw: Any) -> None:
    with pytest.raises(TypeError, match="monthly_income"):
        replace(BASE, monthly_income=raw)
    with pytest.raises(TypeError, match="deposits"):
        household(deposits=raw)


def test_member_and_emergency_sequences_become_tuples() -> None:
    emergency = Emergency(SignalKind.MAJOR_ACCIDENT, date(2026, 1, 1))
    facts = household(members=[BASE], emergencies=[emergency])
    assert facts.members == (BASE,)
    assert facts.emergencies == (emergency,)
