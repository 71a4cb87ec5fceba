"""Identification over time: dates in the region's zone, evaluations that never go backwards,
dated expenses, re-screening when a date matters, and the policy versions it reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identification_feed import Feed, identified, rescreening_due, types
from support.loop import HANGZHOU, application, event, member, new_person, signal, visit_completed

from events.envelope import Envelope, derived_event_id
from events.household import DatedExpense, Emergency, RigidExpenses
from events.policy import PolicyVersionApproved, PolicyVersionProposed, PolicyVersionWithdrawn
from events.types import ExpenseKind, RescreeningReason, SignalKind
from services.rules.standards import shipped_proposal

K = SignalKind
MEDICAL, EDUCATION = ExpenseKind.MEDICAL, ExpenseKind.EDUCATION
DAY = timedelta(days=1)
JUNE_1 = date(2026, 6, 1)


def at(day: date, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    """An instant in UTC (Hangzhou is UTC+8)."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


JUNE_1_AT_9 = at(JUNE_1)


def household(feed: Feed, name: str, on: datetime = JUNE_1_AT_9, **facts: Any) -> list[str]:
    """A two-member household identified on `on`; its person ids."""
    head, spouse = member(income="1000"), member(relation="spouse")
    feed.chain(application(name, [head, spouse], on, **facts))
    return [head["person_id"], spouse["person_id"]]


# Dates in the region's zone.


@pytest.mark.parametrize(
    ("instant", "local"),
    [
        (at(JUNE_1, 15, 59, 59), JUNE_1),  # 23:59:59 in Hangzhou
        (at(JUNE_1, 16), JUNE_1 + DAY),  # midnight in Hangzhou: already 2 June
        (at(JUNE_1 - DAY, 23), JUNE_1),  # 07:00 Beijing time on 1 June, 31 May in UTC
    ],
)
def test_an_application_is_judged_on_its_date_in_the_regions_zone(
    instant: datetime, local: date
) -> None:
    [out] = Feed().chain(
        application("HH-Z", [member()], instant, rigid_expenses_12m={"medical": "10"})
    )
    facts = identified([out])
    assert facts.evaluated_on == local
    assert facts.expenses == [DatedExpense(kind=MEDICAL, amount=Decimal(10), on=local)]


def test_a_signals_emergency_is_dated_in_the_regions_zone() -> None:
    feed = Feed()
    [head, _] = household(feed, "HH-Z1", at(JUNE_1 - timedelta(days=5)))
    facts = identified(feed.monitoring(signal(K.DISASTER, head, occurred_at=at(JUNE_1, 16, 30))))
    assert facts.emergencies == [Emergency(kind=K.DISASTER, on=JUNE_1 + DAY)]
    assert facts.evaluated_on == JUNE_1 + DAY


# Evaluations never go backwards.


def test_a_back_dated_signal_re_screens_at_the_later_date_and_its_fact_still_counts() -> None:
    feed = Feed()
    [head, _] = household(feed, "HH-Y")
    facts = identified(
        feed.monitoring(signal(K.MAJOR_ACCIDENT, head, occurred_at=at(date(2026, 5, 10))))
    )
    assert facts.evaluated_on == JUNE_1
    assert facts.emergencies == [Emergency(kind=K.MAJOR_ACCIDENT, on=date(2026, 5, 10))]
    later = feed.monitoring(
        signal(K.INCOME_CHANGE, head, occurred_at=at(date(2026, 6, 9)), monthly_income="1")
    )
    assert identified(later).evaluated_on == date(2026, 6, 9)
    again = feed.monitoring(
        signal(K.INCOME_CHANGE, head, occurred_at=at(date(2026, 6, 3)), monthly_income="2")
    )
    assert identified(again).evaluated_on == date(2026, 6, 9)


@pytest.mark.parametrize(
    ("billed", "counts"),
    [(date(2025, 5, 31), False), (date(2025, 6, 1), True), (date(2025, 6, 2), True)],
)
def test_a_late_bill_counts_if_it_is_one_of_the_last_12_months(billed: date, counts: bool) -> None:
    feed = Feed()
    [head, _] = household(feed, "HH-X")
    bill = signal(K.MAJOR_MEDICAL_EXPENSE, head, occurred_at=at(billed), amount="900")
    facts = identified(feed.monitoring(bill))
    assert facts.evaluated_on == JUNE_1
    assert facts.rigid_expenses_12m.medical == (Decimal(900) if counts else 0)


@settings(max_examples=40, deadline=None)
@given(offsets=st.lists(st.integers(min_value=-60, max_value=60), min_size=1, max_size=6))
def test_evaluation_dates_only_ever_rise(offsets: list[int]) -> None:
    feed = Feed()
    [head, _] = household(feed, "HH-H")
    seen = [JUNE_1]
    for offset in offsets:
        when = at(JUNE_1 + timedelta(days=offset))
        out = feed.monitoring(signal(K.SCHOOL_ENROLLMENT, head, occurred_at=when))
        seen.append(identified(out).evaluated_on or date.min)
    assert seen == sorted(seen)
    assert seen[-1] == max(JUNE_1, *(JUNE_1 + timedelta(days=o) for o in offsets))


# Dated expenses.


def test_declared_expenses_are_dated_on_the_declaration() -> None:
    feed = Feed()
    [out] = feed.chain(
        application("HH-E1", [member()], rigid_expenses_12m={"medical": "800", "education": "300"})
    )
    facts = identified([out])
    assert facts.expenses == [
        DatedExpense(kind=MEDICAL, amount=Decimal(800), on=JUNE_1),
        DatedExpense(kind=EDUCATION, amount=Decimal(300), on=JUNE_1),
    ]
    assert facts.rigid_expenses_12m == RigidExpenses(medical=Decimal(800), education=Decimal(300))


def test_a_new_declaration_replaces_the_declared_expenses_and_keeps_the_bills() -> None:
    feed = Feed()
    people = [member(income="1000"), member(relation="spouse")]
    feed.chain(
        application("HH-E2", people, rigid_expenses_12m={"medical": "500", "education": "900"})
    )
    bill = signal(
        K.MAJOR_MEDICAL_EXPENSE,
        people[0]["person_id"],
        occurred_at=at(date(2026, 7, 1)),
        amount="20000",
    )
    assert identified(feed.monitoring(bill)).rigid_expenses_12m.medical == Decimal(20500)

    september = at(date(2026, 9, 1))
    restated = identified(
        feed.chain(application("HH-E2", people, september, rigid_expenses_12m={"medical": "25000"}))
    )
    assert restated.expenses == [
        DatedExpense(kind=MEDICAL, amount=Decimal(5000), on=date(2026, 9, 1)),  # beyond the bill
        DatedExpense(kind=MEDICAL, amount=Decimal(20000), on=date(2026, 7, 1)),
    ]
    assert restated.rigid_expenses_12m == RigidExpenses(medical=Decimal(25000))
    # a declaration that leaves the bill out does not make it go away
    forgot = identified(feed.chain(application("HH-E2", people, september + DAY)))
    assert forgot.expenses == [
        DatedExpense(kind=MEDICAL, amount=Decimal(20000), on=date(2026, 7, 1))
    ]


# Re-screening when a date matters.


@pytest.mark.parametrize(
    ("due_on", "evaluated_on"),
    [(JUNE_1 - DAY, JUNE_1), (JUNE_1, JUNE_1), (JUNE_1 + DAY, JUNE_1 + DAY)],
)
def test_a_rescreening_re_identifies_on_the_latest_facts(due_on: date, evaluated_on: date) -> None:
    feed = Feed()
    [head, _] = household(feed, "HH-R")
    feed.monitoring(signal(K.INCOME_CHANGE, head, monthly_income="77"))
    due = rescreening_due(
        "HH-R", due_on, at(due_on - DAY, 16), RescreeningReason.BIRTHDAY, person_id=head, age=16
    )
    [out] = feed.chain(due)
    assert out.event_id == derived_event_id(due.event_id, "identified")
    assert (out.causation_id, out.household_id, out.occurred_at) == (
        due.event_id,
        "HH-R",
        due.occurred_at,
    )
    facts = identified([out])
    assert facts.trigger == "rescreening:birthday"
    assert facts.evaluated_on == evaluated_on
    assert facts.members[0].monthly_income == Decimal(77)


@pytest.mark.parametrize(
    ("due_on", "medical"),
    [(date(2027, 5, 31), 1000), (date(2027, 6, 1), 1000), (date(2027, 6, 2), 0)],
)
def test_an_expense_leaves_r_the_day_after_its_12_months(due_on: date, medical: int) -> None:
    feed = Feed()
    household(feed, "HH-R2", rigid_expenses_12m={"medical": "1000"})
    due = rescreening_due("HH-R2", due_on, at(due_on), RescreeningReason.EXPENSE_EXPIRED)
    facts = identified(feed.chain(due))
    assert facts.rigid_expenses_12m.medical == medical
    assert len(facts.expenses or []) == int(medical > 0)


def test_no_rescreening_of_an_unknown_or_waiting_household() -> None:
    feed = Feed()
    assert feed.chain(rescreening_due("HH-NOBODY", JUNE_1, at(JUNE_1))) == []
    warned = feed.monitoring(signal(K.DISASTER, new_person()))
    assert types(warned)[-1] == "VisitRequested"
    assert feed.chain(rescreening_due(str(warned[0].household_id), JUNE_1, at(JUNE_1))) == []


def test_a_visit_after_waiting_is_evaluated_at_its_own_date() -> None:
    feed = Feed()
    person = member()
    _, _, requested = feed.monitoring(
        signal(K.DISASTER, person["person_id"], occurred_at=at(JUNE_1))
    )
    visit_id = requested.payload.visit_id
    later = at(JUNE_1 + timedelta(days=9))
    facts = identified(
        feed.chain(visit_completed(str(requested.household_id), visit_id, [person], later))
    )
    assert facts.evaluated_on == JUNE_1 + timedelta(days=9)
    assert facts.emergencies == [Emergency(kind=K.DISASTER, on=JUNE_1)]


# Policy versions from assist.policy.


def version(name: str, effective_from: date, **changes: Any) -> tuple[Envelope, Envelope]:
    """The shipped standards with Hangzhou's figures changed, proposed and approved."""
    shipped = shipped_proposal()
    regions = [
        r.model_copy(update=changes) if r.region_code == HANGZHOU else r for r in shipped.regions
    ]
    proposed = PolicyVersionProposed(
        policy_version=name,
        effective_from=effective_from,
        regions=regions,
        service_level_days=shipped.service_level_days,
        proposed_by="policy.chen",
    )
    approved = PolicyVersionApproved(policy_version=name, approved_by="policy.liu")
    return event(proposed, None, producer="policy"), event(approved, None, producer="policy")


JULY_1 = date(2026, 7, 1)


@pytest.mark.parametrize(
    ("instant", "warns"),
    [(at(JULY_1 - DAY, 15, 59, 59), False), (at(JULY_1 - DAY, 16), True), (at(JULY_1 + DAY), True)],
)
def test_an_approved_version_sets_the_warning_amount_from_its_date_in_the_zone(
    instant: datetime, warns: bool
) -> None:
    feed = Feed()
    for message in version("2026-07", JULY_1, medical_warning_amount=Decimal(10000)):
        assert feed.policy(message) == []
    bill = signal(K.MAJOR_MEDICAL_EXPENSE, new_person(), occurred_at=instant, amount="12000")
    assert bool(feed.monitoring(bill)) is warns


def test_a_proposal_alone_or_a_withdrawn_version_changes_nothing() -> None:
    feed = Feed()
    proposed, approved = version("2026-07b", JULY_1, medical_warning_amount=Decimal(10000))
    feed.policy(proposed)
    after = at(JULY_1 + DAY)
    assert (
        feed.monitoring(
            signal(K.MAJOR_MEDICAL_EXPENSE, new_person(), occurred_at=after, amount="12000")
        )
        == []
    )
    feed.policy(approved)
    feed.policy(
        event(PolicyVersionWithdrawn(policy_version="2026-07b", withdrawn_by="policy.liu"), None)
    )
    assert (
        feed.monitoring(
            signal(K.MAJOR_MEDICAL_EXPENSE, new_person(), occurred_at=after, amount="12000")
        )
        == []
    )


def test_dates_follow_the_zone_an_approved_version_gives_the_region() -> None:
    feed = Feed()
    for message in version("2026-08", date(2026, 8, 1), time_zone="Pacific/Honolulu"):
        feed.policy(message)
    instant = at(JUNE_1, 5)  # 13:00 in Beijing, 19:00 the day before in Honolulu
    facts = identified(feed.chain(application("HH-P", [member()], instant)))
    assert facts.evaluated_on == JUNE_1 - DAY
