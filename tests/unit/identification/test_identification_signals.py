"""What a monitoring signal changes in a known household: every row of domain.md's table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.loop import HANGZHOU, member, new_person

from events.household import DatedExpense, Emergency, HouseholdIdentified, RigidExpenses
from events.monitoring import SignalReceived
from events.types import EmploymentStatus, ExpenseKind, FactSource, SignalKind
from services.identification.domain.signals import apply_signal

ON = date(2026, 6, 1)
EARLIER = Emergency(kind=SignalKind.MAJOR_ACCIDENT, on=date(2026, 4, 2))
HEAD = member(income="2000", employment="employed", relation="head")
CHILD = member(date(2015, 1, 1), relation="child", employment="student", capacity="none")
K = SignalKind


def household(*members: dict[str, Any]) -> HouseholdIdentified:
    return HouseholdIdentified.model_validate(
        {
            "region_code": HANGZHOU,
            "trigger": "application",
            "members": list(members or (HEAD, CHILD)),
            "assets": {"deposits": "0", "vehicles": 0, "residential_properties": 1},
            "rigid_expenses_12m": {"medical": "1000", "education": "0"},
            "dwelling_unsafe": False,
            "legal_supporter_able": False,
            "emergencies": [EARLIER],
            "provenance": {f"members[{HEAD['person_id']}].monthly_income": "declared"},
        }
    )


def signal(kind: SignalKind, person: dict[str, Any] | str = HEAD, **values: Any) -> SignalReceived:
    person_id = person if isinstance(person, str) else person["person_id"]
    return SignalReceived(
        kind=kind,
        person_id=person_id,
        region_code=HANGZHOU,
        source_department="civil_affairs",
        **values,
    )


def person_in(facts: HouseholdIdentified, person: dict[str, Any]) -> Any:
    return next(m for m in facts.members if m.person_id == person["person_id"])


def apply(
    kind: SignalKind, person: dict[str, Any] | str = HEAD, **values: Any
) -> HouseholdIdentified:
    result = apply_signal(household(), signal(kind, person, **values), ON)
    assert result is not None
    assert result.trigger == f"signal:{kind.value}"
    return result


def test_major_medical_expense_adds_to_the_medical_expenses_of_the_last_12_months() -> None:
    after = apply(K.MAJOR_MEDICAL_EXPENSE, amount=Decimal("25000.50"))
    assert after.rigid_expenses_12m.medical == Decimal("26000.50")
    assert after.rigid_expenses_12m.education == Decimal(0)
    assert after.provenance["rigid_expenses_12m.medical"] is FactSource.RECORD
    assert after.members == household().members and after.emergencies == [EARLIER]


def test_unemployment_registered_means_unemployed_without_income() -> None:
    after = apply(K.UNEMPLOYMENT_REGISTERED)
    head = person_in(after, HEAD)
    assert (head.employment_status, head.monthly_income) == (EmploymentStatus.UNEMPLOYED, 0)
    assert after.provenance[f"members[{HEAD['person_id']}].monthly_income"] is FactSource.RECORD
    assert after.provenance[f"members[{HEAD['person_id']}].employment_status"] is FactSource.RECORD
    assert person_in(after, CHILD) == person_in(household(), CHILD)


@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_disability_certified_sets_the_grade(grade: int) -> None:
    after = apply(K.DISABILITY_CERTIFIED, CHILD, grade=grade)
    assert person_in(after, CHILD).disability_grade == grade
    assert person_in(after, HEAD).disability_grade is None


def test_income_change_sets_the_monthly_income() -> None:
    after = apply(K.INCOME_CHANGE, monthly_income=Decimal("3150.25"))
    assert person_in(after, HEAD).monthly_income == Decimal("3150.25")
    assert person_in(after, HEAD).employment_status is EmploymentStatus.EMPLOYED


def test_school_enrollment_puts_the_person_in_school() -> None:
    assert not person_in(household(), CHILD).in_school
    assert person_in(apply(K.SCHOOL_ENROLLMENT, CHILD), CHILD).in_school


def test_death_of_member_removes_the_person_and_is_an_emergency() -> None:
    after = apply(K.DEATH_OF_MEMBER, HEAD)
    assert [m.person_id for m in after.members] == [CHILD["person_id"]]
    assert after.emergencies == [EARLIER, Emergency(kind=K.DEATH_OF_MEMBER, on=ON)]


@pytest.mark.parametrize("kind", [K.DISASTER, K.SUDDEN_MAJOR_ILLNESS, K.MAJOR_ACCIDENT])
def test_an_emergency_of_its_kind_on_its_date(kind: SignalKind) -> None:
    after = apply(kind)
    assert after.emergencies == [EARLIER, Emergency(kind=kind, on=ON)]
    assert after.members == household().members
    assert after.rigid_expenses_12m == household().rigid_expenses_12m


def test_the_last_member_dying_leaves_no_household() -> None:
    alone = household(HEAD)
    assert apply_signal(alone, signal(K.DEATH_OF_MEMBER), ON) is None


def test_a_signal_never_changes_the_facts_it_was_given() -> None:
    before = household()
    snapshot = before.model_dump()
    for kind, values in [
        (K.MAJOR_MEDICAL_EXPENSE, {"amount": Decimal(5)}),
        (K.UNEMPLOYMENT_REGISTERED, {}),
        (K.DEATH_OF_MEMBER, {}),
        (K.DISASTER, {}),
    ]:
        apply_signal(before, signal(kind, **values), ON)
    assert before.model_dump() == snapshot


def test_a_change_about_someone_else_leaves_every_member_as_they_were() -> None:
    after = apply(K.INCOME_CHANGE, new_person(), monthly_income=Decimal(9999))
    assert after.members == household().members


# Over time: dated bills, evaluations that never go backwards.

LATER = date(2026, 9, 1)


def evaluated_household(on: date = ON, *expenses: DatedExpense) -> HouseholdIdentified:
    return household().model_copy(update={"evaluated_on": on, "expenses": list(expenses)})


def test_a_bill_is_dated_on_the_signals_date() -> None:
    after = apply_signal(
        evaluated_household(), signal(K.MAJOR_MEDICAL_EXPENSE, amount=Decimal(900)), LATER
    )
    assert after is not None
    assert after.expenses == [DatedExpense(kind=ExpenseKind.MEDICAL, amount=Decimal(900), on=LATER)]
    assert after.evaluated_on == LATER
    assert after.rigid_expenses_12m.medical == Decimal(900)


@pytest.mark.parametrize(
    ("billed_on", "counts"),
    [
        (date(2025, 8, 31), False),  # a day older than the 12 months before the evaluation
        (date(2025, 9, 1), True),  # exactly 12 months before it
        (date(2025, 9, 2), True),
    ],
)
def test_a_back_dated_bill_counts_while_its_12_months_reach_the_evaluation(
    billed_on: date, counts: bool
) -> None:
    facts = evaluated_household(LATER)
    after = apply_signal(facts, signal(K.MAJOR_MEDICAL_EXPENSE, amount=Decimal(700)), billed_on)
    assert after is not None
    assert after.evaluated_on == LATER  # never backwards
    assert after.rigid_expenses_12m.medical == (Decimal(700) if counts else Decimal(0))
    assert len(after.expenses or []) == int(counts)  # one that can never count is dropped


@given(
    previous=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    signalled=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
)
def test_an_evaluation_never_goes_backwards(previous: date, signalled: date) -> None:
    after = apply_signal(evaluated_household(previous), signal(K.DISASTER), signalled)
    assert after is not None
    assert after.evaluated_on == max(previous, signalled)
    assert after.emergencies[-1] == Emergency(kind=K.DISASTER, on=signalled)  # its own date


def test_moving_the_evaluation_forward_lets_old_expenses_expire() -> None:
    old = DatedExpense(kind=ExpenseKind.EDUCATION, amount=Decimal(300), on=date(2025, 8, 31))
    kept = DatedExpense(kind=ExpenseKind.MEDICAL, amount=Decimal(50), on=date(2025, 9, 1))
    facts = evaluated_household(date(2026, 6, 1), old, kept)
    after = apply_signal(facts, signal(K.SCHOOL_ENROLLMENT, CHILD), LATER)
    assert after is not None
    assert after.expenses == [kept]
    assert after.rigid_expenses_12m == RigidExpenses(medical=Decimal(50))
