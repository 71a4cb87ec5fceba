"""Dated rigid expenses: 12-month windows, month arithmetic, and a declaration beside bills."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.household import DatedExpense, RigidExpenses
from events.types import ExpenseKind
from services.identification.domain.expenses import (
    counts_on,
    declared_expenses,
    last_day_counted,
    still_counting,
    sums_on,
)
from services.rules.calendar import add_months

MEDICAL, EDUCATION = ExpenseKind.MEDICAL, ExpenseKind.EDUCATION
DAY = timedelta(days=1)
E = date(2026, 3, 15)


def expense(amount: str | int, on: date = E, kind: ExpenseKind = MEDICAL) -> DatedExpense:
    return DatedExpense(kind=kind, amount=Decimal(amount), on=on)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # clamped to the month's last day
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # a leap year's February
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 15), 12, date(2027, 3, 15)),
        (date(2026, 3, 15), -12, date(2025, 3, 15)),
        (date(2026, 3, 31), 0, date(2026, 3, 31)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(day=days, months=st.integers(min_value=0, max_value=120))
def test_add_months_lands_in_the_right_month_never_past_the_day(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day <= day.day
    assert moved.day == day.day or (moved + DAY).day == 1  # clamped only at a month's end


def test_an_expense_counts_from_its_date_to_the_same_date_a_year_later() -> None:
    spent = expense(500)
    assert last_day_counted(spent) == date(2027, 3, 15)
    assert not counts_on(spent, E - DAY)
    assert counts_on(spent, E)
    assert counts_on(spent, date(2027, 3, 15))
    assert not counts_on(spent, date(2027, 3, 16))  # expense_expired


@given(on=days, offset=st.integers(min_value=-400, max_value=800))
def test_the_window_is_the_date_through_twelve_months_later(on: date, offset: int) -> None:
    spent, day = expense(1, on), on + timedelta(days=offset)
    assert counts_on(spent, day) is (on <= day <= add_months(on, 12))


def test_r_sums_by_kind_what_counts_on_the_day() -> None:
    expenses = [
        expense(100),
        expense(200, E + timedelta(days=30)),
        expense(40, E, EDUCATION),
        expense(7, date(2025, 1, 1)),  # out of the window on every day below
    ]
    assert sums_on(expenses, E - DAY) == RigidExpenses()
    assert sums_on(expenses, E) == RigidExpenses(medical=Decimal(100), education=Decimal(40))
    assert sums_on(expenses, date(2027, 3, 15)) == RigidExpenses(
        medical=Decimal(300), education=Decimal(40)
    )
    assert sums_on(expenses, date(2027, 3, 16)) == RigidExpenses(medical=Decimal(200))


def test_an_expense_that_can_never_count_again_is_dropped() -> None:
    expenses = [expense(1), expense(2, E + DAY)]
    assert still_counting(expenses, date(2027, 3, 15)) == expenses
    assert still_counting(expenses, date(2027, 3, 16)) == [expenses[1]]
    assert still_counting(expenses, date(2027, 3, 17)) == []


def test_a_declaration_is_dated_on_its_own_date() -> None:
    declared = RigidExpenses(medical=Decimal(800), education=Decimal(300))
    assert declared_expenses(declared, E, []) == [expense(800), expense(300, kind=EDUCATION)]
    assert declared_expenses(RigidExpenses(), E, []) == []


def test_bills_of_the_same_twelve_months_are_not_counted_twice() -> None:
    declared = RigidExpenses(medical=Decimal(30000))
    bills = [expense(20000, E - timedelta(days=40))]
    assert declared_expenses(declared, E, bills) == [expense(10000)]
    # the bills alone exceed the declaration: the declaration adds nothing
    assert declared_expenses(RigidExpenses(medical=Decimal(5000)), E, bills) == []


def test_bills_outside_the_declarations_twelve_months_do_not_cover_it() -> None:
    declared = RigidExpenses(medical=Decimal(1000))
    older = expense(1000, add_months(E, -12) - DAY)  # left its window the day before E
    later = expense(1000, E + DAY)  # news to the declaration
    assert declared_expenses(declared, E, [older, later]) == [expense(1000)]
    on_the_edge = expense(400, add_months(E, -12))
    assert declared_expenses(declared, E, [on_the_edge]) == [expense(600)]


cents = st.integers(min_value=0, max_value=5_000_000).map(lambda c: Decimal(c) / 100)


@given(declared=cents, bills=st.lists(cents, max_size=4))
def test_medical_in_r_is_the_larger_of_declaration_and_bills(
    declared: Decimal, bills: list[Decimal]
) -> None:
    dated = [expense(str(b), E - timedelta(days=i)) for i, b in enumerate(bills)]
    kept = declared_expenses(RigidExpenses(medical=declared), E, dated)
    assert sums_on([*kept, *dated], E).medical == max(declared, sum(bills, Decimal(0)))
