"""Dated rigid expenses: each counts in R on the dates of its 12-month window (over-time.md).

An expense on E counts on every date d with E <= d <= add_months(E, 12), so it leaves R on
add_months(E, 12) + 1 day (expense_expired).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from events.household import DatedExpense, HouseholdIdentified, RigidExpenses
from events.types import ExpenseKind
from services.rules.calendar import add_months

WINDOW_MONTHS = 12


def last_day_counted(expense: DatedExpense) -> date:
    return add_months(expense.on, WINDOW_MONTHS)


def counts_on(expense: DatedExpense, day: date) -> bool:
    """True when the expense is one of the last 12 months on `day`."""
    return expense.on <= day <= last_day_counted(expense)


def still_counting(expenses: Iterable[DatedExpense], day: date) -> list[DatedExpense]:
    """The expenses that count on `day` or on a later date; an evaluation never goes back, so
    the others can never count again."""
    return [e for e in expenses if last_day_counted(e) >= day]


def sums_on(expenses: Iterable[DatedExpense], day: date) -> RigidExpenses:
    """R on `day`, by kind: what `rigid_expenses_12m` says to readers of a single figure."""
    totals = {kind: Decimal(0) for kind in ExpenseKind}
    for expense in expenses:
        if counts_on(expense, day):
            totals[expense.kind] += expense.amount
    return RigidExpenses(
        medical=totals[ExpenseKind.MEDICAL], education=totals[ExpenseKind.EDUCATION]
    )


def declared_expenses(
    declared: RigidExpenses, on: date, bills: Iterable[DatedExpense]
) -> list[DatedExpense]:
    """A declaration's expenses of "the last 12 months", dated on its effective date `on`.

    A declaration restates the household's expenses, so it replaces every expense declared
    before it. Medical bills reported by signals stay, each on its own date: the household's
    medical figure for the 12 months up to `on` is the larger of what it declares and what those
    bills add up to (as with assets), so a bill the household also declares is not counted
    twice, and a bill it left out still counts. A bill dated after `on` is news to the
    declaration and always adds.
    """
    covered = sum(
        (b.amount for b in bills if b.kind is ExpenseKind.MEDICAL and counts_on(b, on)),
        Decimal(0),
    )
    amounts = {
        ExpenseKind.MEDICAL: max(declared.medical - covered, Decimal(0)),
        ExpenseKind.EDUCATION: declared.education,
    }
    return [DatedExpense(kind=k, amount=a, on=on) for k, a in amounts.items() if a > 0]


def expenses_of(facts: HouseholdIdentified, on: date) -> list[DatedExpense]:
    """The dated expenses of identified facts; facts written before expenses had dates hold
    only R as it stood, taken here as dated on their evaluation (else on `on`)."""
    if facts.expenses is not None:
        return list(facts.expenses)
    return declared_expenses(facts.rigid_expenses_12m, facts.evaluated_on or on, ())


def evaluated(
    facts: HouseholdIdentified, on: date, expenses: Iterable[DatedExpense] | None = None
) -> HouseholdIdentified:
    """`facts` evaluated at the later of `on` and their previous evaluation (never backwards):
    expenses that can never count again are dropped and R is summed at that date."""
    day = max(on, facts.evaluated_on or on)
    kept = still_counting(expenses_of(facts, on) if expenses is None else expenses, day)
    return facts.model_copy(
        update={"evaluated_on": day, "expenses": kept, "rigid_expenses_12m": sums_on(kept, day)}
    )
