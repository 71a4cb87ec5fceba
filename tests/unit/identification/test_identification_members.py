"""Households and members over time: the last member dying or moving closes a household, and
an application that names a member of another household moves them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from identification_feed import Feed, identified, rescreening_due, types
from support.loop import application, member, new_person, record, signal, visit_completed

from events.envelope import Envelope, derived_event_id
from events.household import Emergency, HouseholdIdentified, VisitRequested
from events.schedule import HouseholdClosed, RescreeningDue
from events.types import ClosureReason, FactSource, RescreeningReason, SignalKind

K = SignalKind
JUNE_1 = date(2026, 6, 1)
JUNE_1_AT_9 = datetime(2026, 6, 1, 9, tzinfo=UTC)
LATER = datetime(2026, 6, 20, 9, tzinfo=UTC)


def ids(*people: dict[str, Any]) -> list[str]:
    return [p["person_id"] for p in people]


def closed(event: Envelope) -> HouseholdClosed:
    assert isinstance(event.payload, HouseholdClosed)
    return event.payload


# The last member dies.


def test_the_last_member_dying_closes_the_household() -> None:
    feed = Feed()
    alone = member(date(1940, 1, 1))
    feed.chain(application("HH-C1", [alone]))
    death = signal(K.DEATH_OF_MEMBER, alone["person_id"], occurred_at=LATER)
    forwarded, closing = feed.monitoring(death)
    assert forwarded.household_id == "HH-C1"
    assert closing.event_id == derived_event_id(death.event_id, "closed")
    assert (closing.household_id, closing.causation_id) == ("HH-C1", death.event_id)
    assert closed(closing) == HouseholdClosed(
        reason=ClosureReason.LAST_MEMBER_DIED, on=date(2026, 6, 20), person_id=alone["person_id"]
    )


def test_a_closed_household_is_processed_no_more() -> None:
    feed = Feed()
    alone = member()
    feed.chain(application("HH-C2", [alone]))
    feed.monitoring(signal(K.DEATH_OF_MEMBER, alone["person_id"]))
    assert feed.chain(rescreening_due("HH-C2", JUNE_1, JUNE_1_AT_9)) == []
    assert feed.monitoring(record(alone["person_id"], deposits=Decimal(5))) == []
    assert feed.chain(application("HH-C2", [member()])) == []


def test_a_member_who_died_leaves_the_household_and_the_person_index() -> None:
    feed = Feed()
    head, spouse = member(), member(relation="spouse")
    feed.chain(application("HH-C3", [head, spouse]))
    _, rescreened = feed.monitoring(signal(K.DEATH_OF_MEMBER, head["person_id"]))
    facts = identified([rescreened])
    assert ids(*[m.model_dump() for m in facts.members]) == ids(spouse)
    assert facts.emergencies == [Emergency(kind=K.DEATH_OF_MEMBER, on=JUNE_1)]
    assert head["person_id"] not in feed.handler.households_of
    # later signals about them name no household: quiet ones are kept, emergencies warn
    quiet = signal(K.INCOME_CHANGE, head["person_id"], monthly_income="1")
    assert feed.monitoring(quiet) == []
    warned = feed.monitoring(signal(K.MAJOR_ACCIDENT, head["person_id"]))
    assert types(warned) == [
        "SignalReceived",  # the quiet one, kept, joins the new household
        "SignalReceived",
        "RiskWarningRaised",
        "VisitRequested",
    ]
    assert warned[0].event_id == quiet.event_id
    assert {e.household_id for e in warned} == {warned[1].household_id}
    assert warned[1].household_id != "HH-C3"


def test_the_only_person_of_a_waiting_household_dying_closes_it() -> None:
    feed = Feed()
    person = new_person()
    forwarded, _, _ = feed.monitoring(signal(K.SUDDEN_MAJOR_ILLNESS, person))
    household = forwarded.household_id
    again, closing = feed.monitoring(signal(K.DEATH_OF_MEMBER, person))
    assert again.household_id == household
    assert closed(closing).reason is ClosureReason.LAST_MEMBER_DIED


# Members moving to another household.


def moved_apart(feed: Feed) -> tuple[dict[str, Any], dict[str, Any], Envelope, list[Envelope]]:
    """HH-A of a mother and her son; the son applies with his wife as HH-B."""
    mother, son = member(date(1950, 1, 1), income="900"), member(date(1990, 1, 1), income="3000")
    feed.chain(application("HH-A", [mother, son]))
    moving = application("HH-B", [son, member(relation="spouse")], LATER)
    return mother, son, moving, feed.chain(moving)


def test_an_application_naming_a_member_of_another_household_moves_them() -> None:
    feed = Feed()
    mother, son, moving, outputs = moved_apart(feed)
    due, old, new = outputs
    assert types(outputs) == ["RescreeningDue", "HouseholdIdentified", "HouseholdIdentified"]
    assert (due.household_id, old.household_id, new.household_id) == ("HH-A", "HH-A", "HH-B")
    assert due.payload == RescreeningDue(
        reason=RescreeningReason.MEMBER_MOVED, on=date(2026, 6, 20), person_id=son["person_id"]
    )
    assert due.event_id == derived_event_id(moving.event_id, "moved", son["person_id"])
    assert due.causation_id == moving.event_id
    assert old.event_id == derived_event_id(due.event_id, "identified")
    assert old.causation_id == due.event_id
    facts = identified([old])
    assert facts.trigger == "rescreening:member_moved"
    assert [m.person_id for m in facts.members] == [mother["person_id"]]
    assert facts.evaluated_on == date(2026, 6, 20)
    assert feed.handler.households_of[son["person_id"]] == "HH-B"
    # the RescreeningDue comes back on the chain: already answered
    assert feed.chain(due) == []
    [forwarded, rescreened] = feed.monitoring(
        signal(K.INCOME_CHANGE, son["person_id"], monthly_income="1")
    )
    assert forwarded.household_id == rescreened.household_id == "HH-B"


def test_the_last_member_moving_away_closes_the_household() -> None:
    feed = Feed()
    alone = member()
    feed.chain(application("HH-A1", [alone]))
    moving = application("HH-B1", [alone, member(relation="spouse")], LATER)
    due, closing, new = feed.chain(moving)
    assert closing.event_id == derived_event_id(due.event_id, "closed")
    assert closed(closing) == HouseholdClosed(
        reason=ClosureReason.LAST_MEMBER_MOVED, on=date(2026, 6, 20), person_id=alone["person_id"]
    )
    assert new.household_id == "HH-B1"
    assert feed.chain(rescreening_due("HH-A1", date(2026, 7, 1), LATER)) == []


def test_two_members_moving_together_give_two_reasons_and_one_rescreening() -> None:
    feed = Feed()
    parent, son, daughter = member(), member(relation="child"), member(relation="child")
    feed.chain(application("HH-A2", [parent, son, daughter]))
    outputs = feed.chain(application("HH-B2", [son, daughter], LATER))
    assert types(outputs) == [
        "RescreeningDue",
        "RescreeningDue",
        "HouseholdIdentified",
        "HouseholdIdentified",
    ]
    assert [o.payload.person_id for o in outputs[:2]] == ids(son, daughter)
    assert outputs[2].causation_id == outputs[1].event_id
    assert [m.person_id for m in identified(outputs[2:3]).members] == ids(parent)


def test_a_re_application_of_the_same_household_moves_nobody() -> None:
    feed = Feed()
    head = member()
    feed.chain(application("HH-A3", [head]))
    assert types(feed.chain(application("HH-A3", [head], LATER))) == ["HouseholdIdentified"]


def test_a_person_left_out_of_a_new_declaration_leaves_the_household() -> None:
    feed = Feed()
    head, lodger = member(), member(relation="other")
    feed.chain(application("HH-A4", [head, lodger]))
    feed.chain(application("HH-A4", [head], LATER))
    assert lodger["person_id"] not in feed.handler.households_of
    assert feed.monitoring(signal(K.SCHOOL_ENROLLMENT, lodger["person_id"])) == []


def test_assets_are_re_summed_from_the_records_of_the_members_who_stay() -> None:
    feed = Feed()
    mother, son = member(), member()
    feed.monitoring(record(son["person_id"], deposits=Decimal(90000), vehicles=1))
    before = identified(feed.chain(application("HH-A5", [mother, son])))
    assert (before.assets.deposits, before.assets.vehicles) == (Decimal(90000), 1)
    assert before.provenance["assets.deposits"] is FactSource.RECORD
    _, old, _ = feed.chain(application("HH-B5", [son], LATER))
    after = identified([old])
    assert (after.assets.deposits, after.assets.vehicles) == (Decimal(0), 0)
    assert after.provenance["assets.deposits"] is FactSource.DECLARED


def test_a_warned_person_who_applies_elsewhere_takes_their_signals_along() -> None:
    feed = Feed()
    victim = member()
    warned, _, requested = feed.monitoring(signal(K.DISASTER, victim["person_id"]))
    waiting = str(warned.household_id)
    outputs = feed.chain(application("HH-B6", [victim, member(relation="spouse")], LATER))
    assert types(outputs) == ["RescreeningDue", "HouseholdClosed", "HouseholdIdentified"]
    assert outputs[0].household_id == outputs[1].household_id == waiting
    assert closed(outputs[1]).reason is ClosureReason.LAST_MEMBER_MOVED
    assert identified(outputs).emergencies == [Emergency(kind=K.DISASTER, on=JUNE_1)]
    # the visit asked for the closed household comes to nothing
    assert isinstance(requested.payload, VisitRequested)
    assert feed.chain(visit_completed(waiting, requested.payload.visit_id, [victim])) == []


def test_moving_out_of_a_household_waiting_for_its_visit_leaves_the_others_waiting() -> None:
    feed = Feed()
    head, spouse = member(income="100"), member(relation="spouse")
    feed.monitoring(record(head["person_id"], monthly_income=Decimal(5000)))
    [request] = feed.chain(application("HH-A7", [head, spouse]))
    assert isinstance(request.payload, VisitRequested)
    outputs = feed.chain(application("HH-B7", [spouse], LATER))
    assert types(outputs) == ["RescreeningDue", "HouseholdIdentified"]
    assert outputs[0].household_id == "HH-A7"
    assert feed.handler.households_of[head["person_id"]] == "HH-A7"


def test_moves_give_the_same_event_ids_in_a_fresh_handler() -> None:
    mother, son = member(), member()
    inputs = [
        application("HH-A8", [mother, son]),
        application("HH-B8", [son], LATER),
        application("HH-C8", [mother], LATER),
    ]

    def run() -> list[tuple[str, str | None, str]]:
        feed = Feed()
        return [
            (str(e.event_id), e.household_id, e.payload.model_dump_json())
            for e in feed.chain_all(inputs)
        ]

    first = run()
    assert first == run()
    assert [h for _, h, _ in first].count("HH-A8") == 1 + 2 + 2  # identified; moved twice
    assert isinstance(HouseholdIdentified.model_validate_json(first[-1][2]), HouseholdIdentified)
