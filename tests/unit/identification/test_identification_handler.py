"""The identification handler: applications, visits, records and signals in; facts out."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from identification_feed import Feed, types
from support.loop import (
    CHONGQING,
    HANGZHOU,
    ON,
    TOPICS,
    Loop,
    application,
    member,
    new_person,
    record,
    signal,
    visit_completed,
)

from events.envelope import Envelope, derived_event_id
from events.household import Emergency, HouseholdIdentified, VisitRequested
from events.monitoring import RiskWarningRaised, SignalReceived
from events.types import FactSource, SignalKind
from services.rules.standards import PolicyBook
from services.runtime.messages import Inbound, Rejected

POLICY = PolicyBook.load_default()
K = SignalKind


def caused_by(effect: Envelope, cause: Envelope) -> None:
    assert effect.causation_id == cause.event_id
    assert effect.correlation_id == cause.correlation_id
    assert effect.household_id == cause.household_id
    assert effect.occurred_at == cause.occurred_at
    assert effect.producer == "identification"


HEAD = member(income="1000")
SPOUSE = member(income="0", relation="spouse", employment="none", capacity="none")


def test_an_application_without_records_is_identified_as_declared() -> None:
    applied = application("HH-A", [HEAD, SPOUSE])
    [identified] = Feed().chain(applied)
    payload = identified.payload
    assert isinstance(payload, HouseholdIdentified)
    caused_by(identified, applied)
    assert identified.event_id == derived_event_id(applied.event_id, "identified")
    assert payload.trigger == "application"
    assert payload.members == applied.payload.members
    assert set(payload.provenance.values()) == {FactSource.DECLARED}
    assert f"members[{HEAD['person_id']}].monthly_income" in payload.provenance


def test_a_record_far_above_the_declaration_holds_the_household_for_a_visit() -> None:
    feed = Feed()
    assert feed.monitoring(record(HEAD["person_id"], monthly_income=Decimal(3000))) == []
    applied = application("HH-B", [HEAD, SPOUSE])
    [requested] = feed.chain(applied)
    assert types([requested]) == ["VisitRequested"]
    caused_by(requested, applied)
    visit = requested.payload
    assert isinstance(visit, VisitRequested)
    assert visit.person_ids == [HEAD["person_id"]]
    assert [(d.person_id, d.declared, d.recorded) for d in visit.discrepancies] == [
        (HEAD["person_id"], "1000", "3000")
    ]
    assert visit.visit_id.startswith("V-") and visit.region_code == applied.payload.region_code

    visited = visit_completed(
        "HH-B", visit.visit_id, [member(income="1200", **_same(HEAD)), SPOUSE]
    )
    [identified] = feed.chain(visited)
    payload = identified.payload
    assert isinstance(payload, HouseholdIdentified)
    caused_by(identified, visited)
    assert payload.trigger == "visit"
    assert payload.members[0].monthly_income == Decimal(1200)  # verified: the record yields
    assert set(payload.provenance.values()) == {FactSource.VISIT}


def _same(person: dict[str, object]) -> dict[str, object]:
    return {"person_id": person["person_id"]}


def test_a_record_within_the_tolerance_wins_without_a_visit() -> None:
    feed = Feed()
    feed.monitoring(record(HEAD["person_id"], monthly_income=Decimal(1100)))
    [identified] = feed.chain(application("HH-C", [HEAD]))
    payload = identified.payload
    assert isinstance(payload, HouseholdIdentified)
    assert payload.members[0].monthly_income == Decimal(1100)
    assert payload.provenance[f"members[{HEAD['person_id']}].monthly_income"] is FactSource.RECORD


def test_a_signal_about_a_member_is_forwarded_to_the_household_and_rescreens_it() -> None:
    feed = Feed()
    feed.chain(application("HH-D", [HEAD, SPOUSE]))
    change = signal(K.INCOME_CHANGE, SPOUSE["person_id"], monthly_income=Decimal(800))
    forwarded, identified = feed.monitoring(change)

    assert forwarded.event_id == change.event_id
    assert forwarded.household_id == "HH-D"
    assert forwarded.payload == change.payload
    assert (forwarded.occurred_at, forwarded.correlation_id) == (
        change.occurred_at,
        change.correlation_id,
    )

    payload = identified.payload
    assert isinstance(payload, HouseholdIdentified)
    caused_by(identified, forwarded)
    assert payload.trigger == "signal:income_change"
    assert [m.monthly_income for m in payload.members] == [Decimal(1000), Decimal(800)]


def test_a_record_about_a_member_is_forwarded_into_the_chain() -> None:
    feed = Feed()
    feed.chain(application("HH-E", [HEAD]))
    reported = record(HEAD["person_id"], deposits=Decimal(10))
    [forwarded] = feed.monitoring(reported)
    assert (forwarded.event_id, forwarded.household_id, forwarded.payload) == (
        reported.event_id,
        "HH-E",
        reported.payload,
    )


def test_a_large_bill_of_an_unknown_person_raises_a_warning_and_asks_for_a_visit() -> None:
    patient = new_person(date(1950, 2, 2), CHONGQING)
    bill = signal(K.MAJOR_MEDICAL_EXPENSE, patient, CHONGQING, amount=Decimal(15000))
    forwarded, warned, requested = Feed().monitoring(bill)
    household = forwarded.household_id
    assert household is not None and household.startswith("HH-W")
    assert types([forwarded, warned, requested]) == [
        "SignalReceived",
        "RiskWarningRaised",
        "VisitRequested",
    ]
    assert {e.household_id for e in (warned, requested)} == {household}
    assert isinstance(forwarded.payload, SignalReceived) and forwarded.event_id == bill.event_id
    caused_by(warned, forwarded)
    caused_by(requested, warned)
    warning = warned.payload
    assert isinstance(warning, RiskWarningRaised)
    assert (warning.person_id, warning.signal_kind, warning.amount, warning.threshold) == (
        patient,
        K.MAJOR_MEDICAL_EXPENSE,
        Decimal(15000),
        Decimal(15000),
    )
    assert warning.signal_event_id == str(bill.event_id)
    visit = requested.payload
    assert isinstance(visit, VisitRequested)
    assert (visit.person_ids, visit.region_code) == ([patient], CHONGQING)


def test_a_bill_below_the_threshold_of_an_unknown_person_does_nothing() -> None:
    feed = Feed()
    bill = signal(K.MAJOR_MEDICAL_EXPENSE, new_person(), amount=Decimal("19999.99"))
    assert feed.monitoring(bill) == []
    # Still unknown: the next application of this person is not mistaken for a new household.
    assert feed.handler.households_of == {}


def test_the_visit_after_a_warning_identifies_the_household_with_its_emergency() -> None:
    feed = Feed()
    victim = member()
    disaster = signal(K.DISASTER, victim["person_id"], occurred_at=ON - timedelta(days=3))
    forwarded, _, requested = feed.monitoring(disaster)
    assert isinstance(requested.payload, VisitRequested)
    household = str(forwarded.household_id)
    [identified] = feed.chain(visit_completed(household, requested.payload.visit_id, [victim]))
    payload = identified.payload
    assert isinstance(payload, HouseholdIdentified)
    assert payload.trigger == "visit"
    # dated in the region's zone (17:00 in Hangzhou: the same date as in UTC here)
    on = POLICY.local_date(HANGZHOU, disaster.occurred_at)
    assert payload.emergencies == [Emergency(kind=K.DISASTER, on=on)]


def test_a_second_signal_about_a_warned_person_is_forwarded_only() -> None:
    feed = Feed()
    person = new_person()
    first, _, _ = feed.monitoring(signal(K.MAJOR_ACCIDENT, person))
    [again] = feed.monitoring(signal(K.MAJOR_MEDICAL_EXPENSE, person, amount=Decimal(90000)))
    assert again.household_id == first.household_id


def test_other_chain_events_are_not_identifications_business() -> None:
    feed = Feed()
    applied = application("HH-F", [HEAD])
    [identified] = feed.chain(applied)
    assert feed.chain(identified) == []


@pytest.mark.parametrize("value", [b"", b"not json", b"[]", b'{"event_type": "Nope"}'])
@pytest.mark.parametrize("topic", [TOPICS.chain, TOPICS.monitoring])
def test_garbage_is_rejected_with_the_reason(topic: str, value: bytes) -> None:
    with pytest.raises(Rejected) as rejected:
        Feed().raw(topic, value)
    assert str(rejected.value).split(":")[0] in {"value", "event", "event_type"}


def test_a_chain_event_on_the_monitoring_topic_is_rejected() -> None:
    with pytest.raises(Rejected, match="event_type: ApplicationReceived"):
        Feed().monitoring(application("HH-G", [HEAD]))


def test_a_signal_from_an_unknown_region_is_rejected() -> None:
    stray = signal(K.DISASTER, new_person(), region="999999")
    with pytest.raises(Rejected, match="region_code: unknown region '999999'"):
        Feed().monitoring(stray)


def test_the_same_inputs_give_the_same_event_ids_in_a_fresh_handler() -> None:
    # A restarted processor replays its inputs into a fresh handler: what it then produces
    # must carry the ids of what the old one produced, so the chain writer drops repeats.
    known, patient = member(income="500"), new_person()
    inputs = [
        (TOPICS.monitoring, record(known["person_id"], monthly_income=Decimal(4000))),
        (TOPICS.chain, application("HH-H", [known, SPOUSE])),
        (TOPICS.monitoring, signal(K.MAJOR_MEDICAL_EXPENSE, patient, amount=Decimal(30000))),
        (TOPICS.monitoring, signal(K.SUDDEN_MAJOR_ILLNESS, SPOUSE["person_id"])),
    ]

    def run() -> list[tuple[str, str, str | None, str]]:
        feed = Feed()
        produced = []
        for topic, event in inputs:
            outputs = feed.chain(event) if topic == TOPICS.chain else feed.monitoring(event)
            produced += [
                (str(e.event_id), e.event_type.value, e.household_id, e.payload.model_dump_json())
                for e in outputs
            ]
        return produced

    first, second = run(), run()
    # a visit; a warning (signal, warning, visit); a forwarded signal
    assert [t for _, t, _, _ in first] == [
        "VisitRequested",
        "SignalReceived",
        "RiskWarningRaised",
        "VisitRequested",
        "SignalReceived",
    ]
    assert first == second


def test_policies_finding_people_from_a_bill_to_referrals() -> None:
    # The whole loop in memory: a warning, the visit it asks for, and what the visit leads to.
    loop = Loop()
    patient = member(date(1950, 2, 2), capacity="none", employment="retired", chronic_illness=True)
    warned = loop.monitor(
        signal(K.MAJOR_MEDICAL_EXPENSE, patient["person_id"], amount=Decimal(26000))
    )
    assert types(warned) == ["SignalReceived", "RiskWarningRaised", "VisitRequested"]
    household = str(warned[0].household_id)
    visit = warned[2].payload
    assert isinstance(visit, VisitRequested)
    found = loop.submit(
        visit_completed(
            household,
            visit.visit_id,
            [patient],
            rigid_expenses_12m={"medical": "26000", "education": "0"},
        )
    )
    assert types(found)[:3] == ["VisitCompleted", "HouseholdIdentified", "HouseholdClassified"]
    programs = {e.payload.program.value for e in found if e.event_type.value == "ReferralIssued"}
    assert programs == {"extreme_poverty_support", "medical_assistance", "elderly_meal_assistance"}
    assert {e.household_id for e in loop.chain} == {household}
    assert {e.correlation_id for e in warned} == {warned[0].correlation_id}
    assert loop.dead_letters == []


def test_a_replayed_message_is_taken_in_silently_and_what_follows_is_the_same(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A restart replays the inputs with `replaying=True`: the state must end where it was,
    with nothing serialised and nothing logged again, so the next message causes the same."""
    applied = application("HH-Q", [HEAD, SPOUSE])
    change = signal(K.INCOME_CHANGE, SPOUSE["person_id"], monthly_income=Decimal(800))
    live = Feed()
    live.chain(applied)
    expected = live.monitoring(change)

    restarted = Feed()
    capsys.readouterr()
    replayed = restarted.handler.handle(
        Inbound(TOPICS.chain, 0, 1, applied.key, applied.to_bytes()), replaying=True
    )
    assert replayed == []
    assert capsys.readouterr().out == ""  # nothing said again about a message already handled
    again = restarted.monitoring(change)
    # The same events, ids included (recorded_at is when each was made).
    assert [e.model_dump(exclude={"recorded_at"}) for e in again] == [
        e.model_dump(exclude={"recorded_at"}) for e in expected
    ]
