"""Facts of a HouseholdIdentified at a date: R from the dated expenses of the 12 months before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from support.loop import declaration, dibao_members

from events.household import DatedExpense, HouseholdIdentified, NextRescreening
from events.types import ExpenseKind, RescreeningReason, SignalKind
from services.rules import Emergency, Expense, NextDate, PolicyBook, classify
from services.rules.translation import (
    classified_payload,
    facts_from_identified,
    next_rescreening,
)

EVALUATED = date(2026, 6, 1)
EXPENSES = [
    {"kind": "medical", "amount": "3000", "on": "2025-06-01"},  # counts to 2026-06-01
    {"kind": "medical", "amount": "500", "on": "2026-05-20"},
    {"kind": "education", "amount": "800", "on": "2025-09-01"},  # counts to 2026-09-01
]


def identified(**fields: Any) -> HouseholdIdentified:
    body = declaration(dibao_members(), rigid_expenses_12m={"medical": "7", "education": "9"})
    del body["channel"]
    return HouseholdIdentified.model_validate(body | {"trigger": "application"} | fields)


def sums(payload: HouseholdIdentified, on: date | None = None) -> tuple[Decimal, Decimal]:
    facts = facts_from_identified("HH-1", payload, on)
    return facts.medical_expenses_12m, facts.education_expenses_12m


def test_sums_are_those_at_evaluated_on_by_default() -> None:
    payload = identified(evaluated_on=EVALUATED, expenses=EXPENSES)
    assert sums(payload) == (Decimal(3500), Decimal(800))
    facts = facts_from_identified("HH-1", payload)
    assert facts.expenses == (
        Expense(ExpenseKind.MEDICAL, Decimal(3000), date(2025, 6, 1)),
        Expense(ExpenseKind.MEDICAL, Decimal(500), date(2026, 5, 20)),
        Expense(ExpenseKind.EDUCATION, Decimal(800), date(2025, 9, 1)),
    )


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 5, 19), (Decimal(3000), Decimal(800))),  # the day before the second bill
        (date(2026, 6, 1), (Decimal(3500), Decimal(800))),  # the first bill's last day
        (date(2026, 6, 2), (Decimal(500), Decimal(800))),  # the day after
        (date(2026, 9, 1), (Decimal(500), Decimal(800))),  # tuition's last day
        (date(2026, 9, 2), (Decimal(500), Decimal(0))),
        (date(2025, 5, 31), (Decimal(0), Decimal(0))),  # before any: later ones do not count
    ],
)
def test_sums_at_a_given_date(on: date, expected: tuple[Decimal, Decimal]) -> None:
    assert sums(identified(evaluated_on=EVALUATED, expenses=EXPENSES), on) == expected


def test_without_dated_expenses_the_stated_sums_stand() -> None:
    assert sums(identified(evaluated_on=EVALUATED)) == (Decimal(7), Decimal(9))
    assert sums(identified(evaluated_on=EVALUATED), date(2030, 1, 1)) == (Decimal(7), Decimal(9))
    assert facts_from_identified("HH-1", identified()).expenses is None


def test_without_an_evaluation_date_the_stated_sums_stand() -> None:
    assert sums(identified(expenses=EXPENSES)) == (Decimal(7), Decimal(9))
    assert sums(identified(expenses=EXPENSES), EVALUATED) == (Decimal(3500), Decimal(800))


def test_an_empty_list_of_expenses_means_r_is_zero() -> None:
    assert sums(identified(evaluated_on=EVALUATED, expenses=[])) == (Decimal(0), Decimal(0))


def test_classify_takes_r_at_its_own_date_from_facts_built_at_another() -> None:
    facts = facts_from_identified("HH-1", identified(evaluated_on=EVALUATED, expenses=EXPENSES))
    standard = PolicyBook.load_default().in_force("330100", date(2026, 9, 2))
    numbers = classify(facts, standard, date(2026, 9, 2)).trace.numbers
    assert (numbers["medical_expenses_12m"], numbers["education_expenses_12m"]) == ("500", "0")


def test_the_next_date_that_matters_is_named_in_the_classified_payload() -> None:
    quake = Emergency(SignalKind.DISASTER, date(2026, 5, 1))
    bill = Expense(ExpenseKind.MEDICAL, Decimal("12.50"), date(2025, 7, 1))
    payload = identified(evaluated_on=EVALUATED)
    facts = facts_from_identified("HH-1", payload)
    classification = classify(
        facts, PolicyBook.load_default().in_force("330100", EVALUATED), EVALUATED
    )
    reason = RescreeningReason
    cases = [
        (None, None),
        (
            NextDate(date(2026, 7, 31), reason.EMERGENCY_EXPIRED, emergency=quake),
            {
                "on": "2026-07-31",
                "reason": "emergency_expired",
                "emergency": {"kind": "disaster", "on": "2026-05-01"},
            },
        ),
        (
            NextDate(date(2026, 7, 2), reason.EXPENSE_EXPIRED, expense=bill),
            {
                "on": "2026-07-02",
                "reason": "expense_expired",
                "expense": {"kind": "medical", "amount": "12.50", "on": "2025-07-01"},
            },
        ),
        (
            NextDate(
                date(2026, 9, 1), reason.BIRTHDAY, person_id=facts.members[2].person_id, age=16
            ),
            {
                "on": "2026-09-01",
                "reason": "birthday",
                "person_id": facts.members[2].person_id,
                "age": 16,
            },
        ),
    ]
    for next_date, expected in cases:
        classified = classified_payload(classification, "330100", EVALUATED, next_date)
        assert classified.next_rescreening == next_rescreening(next_date)
        if expected is None:
            assert classified.next_rescreening is None
        else:
            assert classified.next_rescreening == NextRescreening.model_validate(expected)
    assert next_rescreening(NextDate(date(2026, 7, 2), reason.EXPENSE_EXPIRED, expense=bill)) == (
        NextRescreening(
            on=date(2026, 7, 2),
            reason=reason.EXPENSE_EXPIRED,
            expense=DatedExpense(
                kind=ExpenseKind.MEDICAL, amount=Decimal("12.50"), on=date(2025, 7, 1)
            ),
        )
    )
