"""Dates that matter: each reason the day before, on and after its date; ties; calendar edges."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.types import (
    EmploymentStatus,
    ExpenseKind,
    LabourCapacity,
    Relation,
    RescreeningReason,
    SignalKind,
)
from services.rules import (
    Emergency,
    Expense,
    HouseholdFacts,
    Member,
    PolicyBook,
    Tag,
    Tier,
    age_on,
    birthday_crossing,
    classify,
    expense_sums,
    next_date_that_matters,
    tags_of,
)
from services.rules.calendar import add_months
from services.rules.dates import AGES_THAT_MATTER, dates_that_matter
from services.rules.tiers import recent_emergencies

DAY = timedelta(days=1)
BIRTHDAY, EMERGENCY, EXPENSE, REVIEW = (
    RescreeningReason.BIRTHDAY,
    RescreeningReason.EMERGENCY_EXPIRED,
    RescreeningReason.EXPENSE_EXPIRED,
    RescreeningReason.PERIODIC_REVIEW,
)
HZ = PolicyBook.load_default().in_force("330100", date(2026, 6, 1))
_seq = itertools.count(1)


def person(birth: date = date(1950, 1, 1), **kw: Any) -> Member:
    base = Member(
        person_id=f"p{next(_seq):03d}",
        name="member",
        birth_date=birth,
        relation=Relation.OTHER,
        monthly_income=Decimal(0),
        labour_capacity=LabourCapacity.NONE,
        employment_status=EmploymentStatus.RETIRED,
    )
    return replace(base, **kw)


def household(*members: Member, **kw: Any) -> HouseholdFacts:
    """By default one member past every age that matters: no birthday ahead."""
    facts = HouseholdFacts("h1", "330100", members or (person(),), residential_properties=1)
    return replace(facts, **kw)


# -- calendar --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # clamped to the month's last day
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # a leap February keeps its 29th
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 5, 17), 0, date(2026, 5, 17)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


@given(st.dates(date(1900, 1, 1), date(2200, 12, 31)), st.integers(-1200, 1200))
def test_add_months_moves_the_month_and_keeps_the_day_where_it_exists(d: date, n: int) -> None:
    moved = add_months(d, n)
    assert (moved.year * 12 + moved.month) - (d.year * 12 + d.month) == n
    assert moved.day == d.day or (moved.day < d.day and (moved + DAY).day == 1)


@pytest.mark.parametrize(
    ("birth", "age", "expected"),
    [
        (date(2010, 5, 17), 16, date(2026, 5, 17)),
        (date(2008, 2, 29), 18, date(2026, 3, 1)),  # born 29 Feb: 1 Mar in a common year
        (date(2008, 2, 29), 16, date(2024, 2, 29)),  # and 29 Feb in a leap one
        (date(1966, 12, 31), 60, date(2026, 12, 31)),
        (date(2020, 7, 4), 0, date(2020, 7, 4)),
    ],
)
def test_a_birthday_crossing_is_the_first_date_the_age_is_reached(
    birth: date, age: int, expected: date
) -> None:
    assert birthday_crossing(birth, age) == expected
    assert age_on(birth, expected) == age
    if age:
        assert age_on(birth, expected - DAY) == age - 1


@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.integers(1, 100))
def test_a_birthday_crossing_agrees_with_age_on(birth: date, age: int) -> None:
    crossed = birthday_crossing(birth, age)
    assert age_on(birth, crossed) == age
    assert age_on(birth, crossed - DAY) == age - 1


# -- birthday --------------------------------------------------------------------------------

CHILD_BIRTH = date(2010, 9, 15)  # 16 on 2026-09-15, 18 on 2028-09-15, 60 on 2070-09-15


def left_behind_family() -> HouseholdFacts:
    child = person(CHILD_BIRTH, relation=Relation.CHILD, left_behind=True, person_id="child")
    return household(person(date(1950, 1, 1), relation=Relation.HEAD), child)


@pytest.mark.parametrize(
    ("evaluated_on", "expected_on", "expected_age"),
    [
        (date(2026, 9, 14), date(2026, 9, 15), 16),  # the day before: the 16th birthday is next
        (date(2026, 9, 15), date(2028, 9, 15), 18),  # on it: 16 is reached, 18 is next
        (date(2026, 9, 16), date(2028, 9, 15), 18),  # the day after: the same
    ],
)
def test_a_birthday_crossing_16_18_or_60_is_a_date_that_matters(
    evaluated_on: date, expected_on: date, expected_age: int
) -> None:
    found = next_date_that_matters(left_behind_family(), Tier.NONE, evaluated_on)
    assert found is not None
    assert (found.on, found.reason, found.person_id, found.age) == (
        expected_on,
        BIRTHDAY,
        "child",
        expected_age,
    )
    assert (found.emergency, found.expense, found.also) == (None, None, ())


def test_on_the_16th_birthday_the_left_behind_child_tag_ends() -> None:
    facts = left_behind_family()
    assert Tag.LEFT_BEHIND_CHILD in tags_of(facts, Tier.NONE, date(2026, 9, 14))
    assert Tag.LEFT_BEHIND_CHILD not in tags_of(facts, Tier.NONE, date(2026, 9, 15))


def test_a_member_born_on_29_february_crosses_on_1_march_of_a_common_year() -> None:
    facts = household(person(date(2008, 2, 29), person_id="leap", orphan=True))
    found = next_date_that_matters(facts, Tier.NONE, date(2026, 2, 28))
    assert found is not None
    assert (found.on, found.age) == (date(2026, 3, 1), 18)
    assert Tag.ORPHAN in tags_of(facts, Tier.NONE, date(2026, 2, 28))
    assert Tag.ORPHAN not in tags_of(facts, Tier.NONE, date(2026, 3, 1))


def test_every_age_a_rule_uses_is_crossed() -> None:
    assert AGES_THAT_MATTER == (16, 18, 60)
    facts = household(person(date(2000, 1, 1), person_id="young"))
    found = dates_that_matter(facts, Tier.NONE, date(2001, 1, 1))
    assert [(c.on, c.age) for c in found] == [
        (date(2016, 1, 1), 16),
        (date(2018, 1, 1), 18),
        (date(2060, 1, 1), 60),
    ]


# -- emergency_expired -------------------------------------------------------------------------

QUAKE = Emergency(SignalKind.DISASTER, date(2026, 3, 1))  # counts up to 2026-05-30 inclusive


@pytest.mark.parametrize(
    ("evaluated_on", "expected"),
    [
        (date(2026, 5, 30), date(2026, 5, 31)),  # its last day: expiry is next
        (date(2026, 5, 31), None),  # day 91: gone, nothing else ahead
        (date(2026, 6, 1), None),
    ],
)
def test_an_emergency_expires_on_day_91(evaluated_on: date, expected: date | None) -> None:
    facts = household(emergencies=(QUAKE,))
    found = next_date_that_matters(facts, Tier.TEMPORARY, evaluated_on)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.on, found.reason, found.emergency) == (expected, EMERGENCY, QUAKE)


def test_an_emergency_counts_until_the_day_before_it_expires() -> None:
    earner = person(date(1980, 1, 1), monthly_income=Decimal(5000))
    facts = household(earner, emergencies=(QUAKE,))
    assert recent_emergencies(facts, date(2026, 5, 30)) == (QUAKE,)
    assert recent_emergencies(facts, date(2026, 5, 31)) == ()
    assert classify(facts, HZ, date(2026, 5, 30)).tier is Tier.TEMPORARY
    assert classify(facts, HZ, date(2026, 5, 31)).tier is Tier.NONE


def test_each_emergency_expires_on_its_own_date() -> None:
    later = Emergency(SignalKind.MAJOR_ACCIDENT, date(2026, 4, 1))
    facts = household(emergencies=(later, QUAKE))
    found = dates_that_matter(facts, Tier.TEMPORARY, date(2026, 4, 1))
    assert [(c.on, c.emergency) for c in found] == [
        (date(2026, 5, 31), QUAKE),
        (date(2026, 7, 1), later),
    ]


# -- expense_expired -------------------------------------------------------------------------

BILL = Expense(ExpenseKind.MEDICAL, Decimal(5000), date(2025, 8, 31))  # counts to 2026-08-31


@pytest.mark.parametrize(
    ("evaluated_on", "expected"),
    [
        (date(2026, 8, 30), date(2026, 9, 1)),
        (date(2026, 8, 31), date(2026, 9, 1)),  # its last day: expiry is the next day
        (date(2026, 9, 1), None),  # gone
        (date(2026, 9, 2), None),
    ],
)
def test_an_expense_expires_the_day_after_its_12_months(
    evaluated_on: date, expected: date | None
) -> None:
    facts = household(expenses=(BILL,))
    found = next_date_that_matters(facts, Tier.NONE, evaluated_on)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.on, found.reason, found.expense) == (expected, EXPENSE, BILL)


@pytest.mark.parametrize(
    ("on", "medical"),
    [
        (date(2025, 8, 30), Decimal(0)),  # the day before it was paid
        (date(2025, 8, 31), Decimal(5000)),  # the day it was paid
        (date(2026, 8, 31), Decimal(5000)),  # 12 months on: still counts
        (date(2026, 9, 1), Decimal(0)),  # the day after
    ],
)
def test_r_counts_an_expense_from_its_date_to_12_months_after(on: date, medical: Decimal) -> None:
    tuition = Expense(ExpenseKind.EDUCATION, Decimal(800), date(2026, 1, 10))
    expected_education = Decimal(800) if tuition.counts_on(on) else Decimal(0)
    assert expense_sums((BILL, tuition), on) == (medical, expected_education)


def test_an_expense_of_29_february_counts_to_28_february_and_expires_on_1_march() -> None:
    leap = Expense(ExpenseKind.MEDICAL, Decimal(100), date(2024, 2, 29))
    assert (leap.last_day, leap.expires_on) == (date(2025, 2, 28), date(2025, 3, 1))
    found = next_date_that_matters(household(expenses=(leap,)), Tier.NONE, date(2025, 2, 28))
    assert found is not None and found.on == date(2025, 3, 1)


def test_an_expense_of_zero_is_no_date_that_matters() -> None:
    nothing = Expense(ExpenseKind.EDUCATION, Decimal(0), date(2026, 1, 1))
    assert (
        next_date_that_matters(household(expenses=(nothing,)), Tier.NONE, date(2026, 6, 1)) is None
    )


def test_r_at_the_evaluation_date_decides_the_tier() -> None:
    # pci 2000 >= M 1860 in Hangzhou, so only R can make the household RIGID_EXPENDITURE.
    earner = person(date(1980, 1, 1), monthly_income=Decimal(2000))
    big_bill = Expense(ExpenseKind.MEDICAL, Decimal(30000), date(2025, 8, 31))
    facts = household(earner, expenses=(big_bill,))
    assert classify(facts, HZ, date(2026, 8, 31)).tier is Tier.RIGID_EXPENDITURE
    assert classify(facts, HZ, date(2026, 9, 1)).tier is Tier.NONE
    assert classify(facts, HZ, date(2026, 9, 1)).trace.numbers["R"] == "0"


# -- periodic_review -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (Tier.DIBAO, date(2027, 2, 28)),  # 6 months, clamped
        (Tier.EXTREMELY_POOR, date(2027, 8, 31)),
        (Tier.MARGINAL, date(2027, 8, 31)),
        (Tier.RIGID_EXPENDITURE, date(2027, 8, 31)),
        (Tier.TEMPORARY, None),
        (Tier.NONE, None),
    ],
)
def test_a_periodic_review_follows_the_tier(tier: Tier, expected: date | None) -> None:
    found = next_date_that_matters(household(), tier, date(2026, 8, 31))
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.on, found.reason, found.person_id) == (expected, REVIEW, None)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_periodic_review_counts_from_the_evaluation(offset: int) -> None:
    evaluated_on = date(2026, 3, 15) + timedelta(days=offset)
    found = next_date_that_matters(household(), Tier.DIBAO, evaluated_on)
    assert found is not None and found.on == add_months(evaluated_on, 6)


# -- ties and order ---------------------------------------------------------------------------


def test_the_earliest_reason_wins() -> None:
    child = person(CHILD_BIRTH, left_behind=True)
    facts = household(person(), child, emergencies=(QUAKE,), expenses=(BILL,))
    found = dates_that_matter(facts, Tier.DIBAO, date(2026, 4, 1))
    assert [(c.on, c.reason) for c in found[:4]] == [
        (date(2026, 5, 31), EMERGENCY),
        (date(2026, 9, 1), EXPENSE),
        (date(2026, 9, 15), BIRTHDAY),
        (date(2026, 10, 1), REVIEW),
    ]


def test_reasons_on_the_same_date_name_the_first_and_list_the_others() -> None:
    evaluated_on = date(2026, 3, 15)  # DIBAO review on 2026-09-15, the child's 16th birthday
    quake = Emergency(SignalKind.DISASTER, date(2026, 9, 15) - timedelta(days=91))
    bill = Expense(ExpenseKind.MEDICAL, Decimal(10), date(2025, 9, 14))  # expires 2026-09-15
    child = person(CHILD_BIRTH, left_behind=True, person_id="child")
    facts = household(person(), child, emergencies=(quake,), expenses=(bill,))
    found = next_date_that_matters(facts, Tier.DIBAO, evaluated_on)
    assert found is not None
    assert (found.on, found.reason, found.person_id, found.age) == (
        date(2026, 9, 15),
        BIRTHDAY,
        "child",
        16,
    )
    assert found.also == (EMERGENCY, EXPENSE, REVIEW)


def test_twins_are_named_in_person_id_order() -> None:
    twins = [person(CHILD_BIRTH, person_id=p) for p in ("twin-b", "twin-a")]
    found = next_date_that_matters(household(*twins), Tier.NONE, date(2026, 1, 1))
    assert found is not None
    assert (found.person_id, found.also) == ("twin-a", ())


def test_nothing_ahead_is_none() -> None:
    assert next_date_that_matters(household(), Tier.NONE, date(2026, 6, 1)) is None


# -- properties --------------------------------------------------------------------------------


@given(
    birth=st.dates(date(1920, 1, 1), date(2026, 12, 31)),
    gap=st.integers(0, 110 * 366),
)
def test_the_birthday_returned_is_the_first_date_an_age_threshold_flips(
    birth: date, gap: int
) -> None:
    evaluated_on = birth + timedelta(days=gap)
    found = next_date_that_matters(household(person(birth, person_id="p")), Tier.NONE, evaluated_on)
    reached = age_on(birth, evaluated_on)
    if reached >= max(AGES_THAT_MATTER):
        assert found is None
        return
    assert found is not None and found.reason is BIRTHDAY and found.age is not None
    assert found.on > evaluated_on
    assert age_on(birth, found.on) == found.age
    assert found.age == min(a for a in AGES_THAT_MATTER if a > reached)

    def thresholds(d: date) -> tuple[bool, ...]:
        return tuple(age_on(birth, d) >= a for a in AGES_THAT_MATTER)

    # Ages only grow, so equal thresholds at both ends hold on every day between them.
    assert thresholds(found.on - DAY) == thresholds(evaluated_on)
    assert thresholds(found.on) != thresholds(evaluated_on)


_members = st.builds(
    lambda birth, income, capacity, flags: person(
        birth,
        monthly_income=Decimal(income),
        labour_capacity=capacity,
        employment_status=EmploymentStatus.UNEMPLOYED,
        orphan=flags[0],
        parents_unable_to_support=flags[1],
        left_behind=flags[2],
        disability_grade=2 if flags[3] else None,
    ),
    st.dates(date(1940, 1, 1), date(2025, 12, 31)),
    st.integers(0, 9000),
    st.sampled_from(list(LabourCapacity)),
    st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)


@settings(max_examples=150, deadline=None)
@given(
    members=st.lists(_members, min_size=1, max_size=4),
    evaluated_on=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    emergency_ages=st.lists(st.integers(0, 120), max_size=3),
    expense_ages=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 80000)), max_size=3),
    vehicles=st.sampled_from((0, 0, 1)),  # a vehicle fails assets_ok: TEMPORARY at best
    probe=st.floats(0, 1),
)
def test_time_alone_changes_nothing_before_the_next_date_that_matters(
    members: list[Member],
    evaluated_on: date,
    emergency_ages: list[int],
    expense_ages: list[tuple[int, int]],
    vehicles: int,
    probe: float,
) -> None:
    facts = household(
        *members,
        vehicles=vehicles,
        emergencies=[
            Emergency(SignalKind.DISASTER, evaluated_on - timedelta(days=a)) for a in emergency_ages
        ],
        expenses=[
            Expense(ExpenseKind.MEDICAL, Decimal(amount), evaluated_on - timedelta(days=a))
            for a, amount in expense_ages
        ],
    )
    before = classify(facts, HZ, evaluated_on)
    found = next_date_that_matters(facts, before.tier, evaluated_on)
    last_quiet = (found.on - DAY) if found else evaluated_on + timedelta(days=3 * 366)
    between = evaluated_on + timedelta(days=int(probe * (last_quiet - evaluated_on).days))
    for d in {between, last_quiet}:
        later = classify(facts, HZ, d)
        assert (later.tier, later.tags) == (before.tier, before.tags), d


@given(
    evaluated_on=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    bills=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 9000)), min_size=1, max_size=4),
    probe=st.floats(0, 1),
)
def test_r_changes_only_on_the_dates_expenses_expire(
    evaluated_on: date, bills: list[tuple[int, int]], probe: float
) -> None:
    expenses = tuple(
        Expense(ExpenseKind.MEDICAL, Decimal(amount), evaluated_on - timedelta(days=a))
        for a, amount in bills
    )
    found = next_date_that_matters(household(expenses=expenses), Tier.NONE, evaluated_on)
    r_now = expense_sums(expenses, evaluated_on)
    if found is None:  # every expense already out of its window
        assert r_now == (0, 0)
        return
    assert found.reason is EXPENSE
    between = evaluated_on + timedelta(days=int(probe * (found.on - evaluated_on).days))
    assert expense_sums(expenses, min(between, found.on - DAY)) == r_now
    assert expense_sums(expenses, found.on) != r_now
