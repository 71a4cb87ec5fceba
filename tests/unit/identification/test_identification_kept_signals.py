"""Signals kept for later: about a household waiting for its home visit, and quiet ones about a
person of no known household (12 months)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identification_feed import Feed, identified, types
from support.loop import Loop, application, member, new_person, record, signal, visit_completed

from events.envelope import Envelope
from events.household import DatedExpense, Emergency, VisitRequested
from events.monitoring import SignalReceived
from events.types import EmploymentStatus, ExpenseKind, FactSource, SignalKind
from services.identification.domain.pending import KeptSignal, kept_with, stray, usable
from services.rules.calendar import add_months

K = SignalKind
MEDICAL = ExpenseKind.MEDICAL
DAY = timedelta(days=1)
JUNE_1 = date(2026, 6, 1)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def waiting(feed: Feed, *people: dict[str, Any]) -> tuple[str, str]:
    """A household whose application waits for a visit (its head's income is far below the
    record); its id and visit id."""
    feed.monitoring(record(people[0]["person_id"], monthly_income=Decimal(5000)))
    [request] = feed.chain(application("HH-V", list(people)))
    assert isinstance(request.payload, VisitRequested)
    return "HH-V", request.payload.visit_id


# A household waiting for its visit.


def test_every_signal_about_a_waiting_household_is_kept_and_applied_in_order() -> None:
    feed = Feed()
    head, spouse = member(income="100"), member(relation="spouse", income="200")
    household, visit_id = waiting(feed, head, spouse)
    h, s = head["person_id"], spouse["person_id"]
    kept = [
        signal(K.INCOME_CHANGE, s, monthly_income="300", occurred_at=at(JUNE_1 + DAY)),
        signal(K.DISABILITY_CERTIFIED, h, grade=2, occurred_at=at(JUNE_1 + DAY)),
        signal(K.MAJOR_MEDICAL_EXPENSE, h, amount="1500", occurred_at=at(JUNE_1 + 2 * DAY)),
        signal(K.DISASTER, s, occurred_at=at(JUNE_1 + 3 * DAY)),
        signal(K.INCOME_CHANGE, s, monthly_income="350", occurred_at=at(JUNE_1 + 4 * DAY)),
    ]
    for message in kept:
        [forwarded] = feed.monitoring(message)  # on the household's chain, nothing identified
        assert (forwarded.event_id, forwarded.household_id) == (message.event_id, household)
    visit = visit_completed(household, visit_id, [head, spouse], at(JUNE_1 + 10 * DAY))
    [out] = feed.chain(visit)
    facts = identified([out])
    assert facts.trigger == "visit"
    assert facts.evaluated_on == JUNE_1 + 10 * DAY
    [found_head, found_spouse] = facts.members
    assert found_spouse.monthly_income == Decimal(350)  # the later change wins
    assert found_head.disability_grade == 2
    assert facts.expenses == [DatedExpense(kind=MEDICAL, amount=Decimal(1500), on=JUNE_1 + 2 * DAY)]
    assert facts.rigid_expenses_12m.medical == Decimal(1500)  # not 0: the bill was kept
    assert facts.emergencies == [Emergency(kind=K.DISASTER, on=JUNE_1 + 3 * DAY)]
    assert facts.provenance[f"members[{s}].monthly_income"] is FactSource.RECORD
    # applied once: the next re-screening does not apply them again
    again = identified(
        feed.monitoring(signal(K.SCHOOL_ENROLLMENT, h, occurred_at=at(JUNE_1 + 11 * DAY)))
    )
    assert again.emergencies == facts.emergencies and again.expenses == facts.expenses


def test_a_member_dying_while_the_visit_is_due_is_an_emergency_once_it_comes() -> None:
    feed = Feed()
    head, spouse = member(income="100"), member(relation="spouse")
    household, visit_id = waiting(feed, head, spouse)
    [forwarded] = feed.monitoring(signal(K.DEATH_OF_MEMBER, spouse["person_id"]))
    assert forwarded.household_id == household
    assert spouse["person_id"] not in feed.handler.households_of
    facts = identified(feed.chain(visit_completed(household, visit_id, [head])))
    assert [m.person_id for m in facts.members] == [head["person_id"]]
    assert facts.emergencies == [Emergency(kind=K.DEATH_OF_MEMBER, on=JUNE_1)]


def test_the_bill_that_raised_a_warning_is_not_counted_twice_when_the_visit_declares_it() -> None:
    feed = Feed()
    patient = member(date(1950, 2, 2))
    bill = signal(K.MAJOR_MEDICAL_EXPENSE, patient["person_id"], amount="26000")
    forwarded, _, requested = feed.monitoring(bill)
    assert isinstance(requested.payload, VisitRequested)
    visit = visit_completed(
        str(forwarded.household_id),
        requested.payload.visit_id,
        [patient],
        at(JUNE_1 + 5 * DAY),
        rigid_expenses_12m={"medical": "30000", "education": "0"},
    )
    facts = identified(feed.chain(visit))
    assert facts.rigid_expenses_12m.medical == Decimal(30000)
    assert facts.expenses == [
        DatedExpense(kind=MEDICAL, amount=Decimal(4000), on=JUNE_1 + 5 * DAY),
        DatedExpense(kind=MEDICAL, amount=Decimal(26000), on=JUNE_1),
    ]


def test_the_whole_loop_classifies_the_visit_with_the_kept_bill() -> None:
    loop = Loop()
    patient = member(date(1950, 2, 2), capacity="none", employment="retired")
    warned = loop.monitor(signal(K.MAJOR_MEDICAL_EXPENSE, patient["person_id"], amount="26000"))
    household, visit = str(warned[0].household_id), warned[2].payload
    assert isinstance(visit, VisitRequested)
    found = loop.submit(visit_completed(household, visit.visit_id, [patient]))
    [facts] = [e for e in found if e.event_type.value == "HouseholdIdentified"]
    assert identified([facts]).rigid_expenses_12m.medical == Decimal(26000)
    assert loop.dead_letters == []


# Quiet signals about a person of no known household.


@pytest.mark.parametrize(
    ("applied_on", "applies"),
    [
        (add_months(JUNE_1, 12) - DAY, True),
        (add_months(JUNE_1, 12), True),
        (add_months(JUNE_1, 12) + DAY, False),
    ],
)
def test_a_quiet_signal_is_kept_12_months_for_the_persons_household(
    applied_on: date, applies: bool
) -> None:
    feed = Feed()
    person = member(income="2000", employment="employed")
    quiet = signal(K.UNEMPLOYMENT_REGISTERED, person["person_id"], occurred_at=at(JUNE_1))
    assert feed.monitoring(quiet) == []
    applying = application("HH-Q", [person, member(relation="spouse")], at(applied_on))
    outputs = feed.chain(applying)
    facts = identified(outputs)
    head = facts.members[0]
    if applies:
        forwarded, _ = outputs
        assert (forwarded.event_id, forwarded.household_id) == (quiet.event_id, "HH-Q")
        assert (head.employment_status, head.monthly_income) == (EmploymentStatus.UNEMPLOYED, 0)
        assert facts.trigger == "application"
    else:
        assert types(outputs) == ["HouseholdIdentified"]
        assert (head.employment_status, head.monthly_income) == (EmploymentStatus.EMPLOYED, 2000)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (K.DISABILITY_CERTIFIED, {"grade": 3}),
        (K.INCOME_CHANGE, {"monthly_income": "10"}),
        (K.SCHOOL_ENROLLMENT, {}),
        (K.MAJOR_MEDICAL_EXPENSE, {"amount": "19999.99"}),  # below Hangzhou's 20000
    ],
)
def test_each_quiet_kind_is_applied_when_the_household_is_identified(
    kind: SignalKind, values: dict[str, Any]
) -> None:
    feed = Feed()
    person = member(income="500")
    assert feed.monitoring(signal(kind, person["person_id"], **values)) == []
    facts = identified(feed.chain(application("HH-Q2", [person], at(JUNE_1 + 30 * DAY))))
    found = facts.members[0]
    assert facts.trigger == "application"
    if kind is K.DISABILITY_CERTIFIED:
        assert found.disability_grade == 3
    elif kind is K.INCOME_CHANGE:
        assert found.monthly_income == Decimal(10)
    elif kind is K.SCHOOL_ENROLLMENT:
        assert found.in_school
    else:
        assert facts.rigid_expenses_12m.medical == Decimal("19999.99")


def test_quiet_signals_wait_for_the_visit_when_the_application_needs_one() -> None:
    feed = Feed()
    head = member(income="100")
    assert feed.monitoring(signal(K.SCHOOL_ENROLLMENT, head["person_id"])) == []
    feed.monitoring(record(head["person_id"], monthly_income=Decimal(5000)))
    forwarded, request = feed.chain(application("HH-Q3", [head], at(JUNE_1 + DAY)))
    assert (forwarded.household_id, types([request])) == ("HH-Q3", ["VisitRequested"])
    assert isinstance(request.payload, VisitRequested)
    visit = visit_completed("HH-Q3", request.payload.visit_id, [head], at(JUNE_1 + 3 * DAY))
    assert identified(feed.chain(visit)).members[0].in_school


def test_a_quiet_signal_is_applied_to_one_household_only() -> None:
    feed = Feed()
    person = member()
    feed.monitoring(signal(K.SCHOOL_ENROLLMENT, person["person_id"]))
    first = feed.chain(application("HH-Q4", [person]))
    assert types(first) == ["SignalReceived", "HouseholdIdentified"]
    assert types(feed.chain(application("HH-Q5", [person]))) == [
        "RescreeningDue",
        "HouseholdClosed",
        "HouseholdIdentified",
    ]


# The keeping itself (pure).


def kept(on: date, kind: SignalKind = K.SCHOOL_ENROLLMENT) -> KeptSignal:
    message: Envelope = signal(kind, new_person(), occurred_at=at(on))
    assert isinstance(message.payload, SignalReceived)
    return stray(message, message.payload, on)


def test_a_stray_is_usable_through_the_same_date_a_year_later() -> None:
    one = kept(date(2026, 8, 31))
    assert one.until == date(2027, 8, 31)
    assert usable([one], date(2027, 8, 31)) == [one]
    assert usable([one], date(2027, 9, 1)) == []


@settings(max_examples=50)
@given(offsets=st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=8))
def test_keeping_drops_only_what_could_never_be_applied_again(offsets: list[int]) -> None:
    signals = [kept(JUNE_1 + timedelta(days=o)) for o in offsets]
    held: list[KeptSignal] = []
    for one in signals:
        held = kept_with(held, one)
    latest = max(s.on for s in signals)
    assert held == [s for s in signals if s.usable_on(latest)]


def test_an_identified_household_waiting_for_a_new_visit_is_re_screened_meanwhile() -> None:
    # Its identified facts stand until the visit restates the household.
    feed = Feed()
    head = member(income="100")
    feed.chain(application("HH-V2", [head]))
    feed.monitoring(record(head["person_id"], monthly_income=Decimal(5000)))
    [request] = feed.chain(application("HH-V2", [head], at(JUNE_1 + DAY)))
    assert types([request]) == ["VisitRequested"]
    _, out = feed.monitoring(signal(K.DISASTER, head["person_id"], occurred_at=at(JUNE_1 + DAY)))
    assert identified([out]).emergencies == [Emergency(kind=K.DISASTER, on=JUNE_1 + DAY)]


def test_the_last_identified_member_dying_before_the_new_visit_leaves_the_newcomers_waiting() -> (
    None
):
    feed = Feed()
    head, newcomer = member(income="100"), member(relation="spouse")
    feed.chain(application("HH-V3", [head]))
    feed.monitoring(record(head["person_id"], monthly_income=Decimal(5000)))
    [request] = feed.chain(application("HH-V3", [head, newcomer], at(JUNE_1 + DAY)))
    assert isinstance(request.payload, VisitRequested)
    [forwarded] = feed.monitoring(signal(K.DEATH_OF_MEMBER, head["person_id"]))
    assert forwarded.household_id == "HH-V3"
    visit = visit_completed("HH-V3", request.payload.visit_id, [newcomer], at(JUNE_1 + 5 * DAY))
    facts = identified(feed.chain(visit))
    assert [m.person_id for m in facts.members] == [newcomer["person_id"]]
    assert facts.emergencies == [Emergency(kind=K.DEATH_OF_MEMBER, on=JUNE_1)]
