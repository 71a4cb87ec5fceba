"""The household page's timeline: chain order, who acted, what and why, and cause -> effect links
between the events of the chain."""

from __future__ import annotations

import uuid
from decimal import Decimal

from support.factories import application_event, member, person
from unit.audit.audit_histories import R_ALLOWANCE, at, documents, event, history

from events.envelope import Envelope
from events.household import VisitCompleted
from events.monitoring import SignalReceived
from events.referral import ReferralOutcomeReported
from events.types import Department, Outcome, Program, SignalKind
from services.audit.domain.household_timeline import Link, household_timeline, who_acted

HH = "HH-TIMELINE"


def caused(effect: Envelope, cause: Envelope) -> Envelope:
    """`effect` as a service writes it in answer to `cause`: its causation and correlation."""
    return effect.model_copy(
        update={"causation_id": cause.event_id, "correlation_id": cause.correlation_id}
    )


def linked_history() -> list[Envelope]:
    """history(), with the classification caused by the application and the referrals by the
    classification, as the services write them."""
    events = history(HH)
    application, classified, allowance, medical = events[:4]
    classified = caused(classified, application)
    return [
        application,
        classified,
        caused(allowance, classified),
        caused(medical, classified),
        *events[4:],
    ]


def test_one_entry_per_record_in_chain_order_each_with_its_anchor() -> None:
    events = linked_history()
    entries = household_timeline(documents(events))
    assert [e.place for e in entries] == list(range(1, 10))
    assert [e.sequence for e in entries] == list(range(1, 10))
    assert [e.event_type for e in entries][:3] == [
        "ApplicationReceived",
        "HouseholdClassified",
        "ReferralIssued",
    ]
    assert [e.anchor for e in entries] == [f"e-{e.event_id}" for e in events]


def test_an_event_links_to_the_event_that_caused_it_and_the_cause_to_its_effects() -> None:
    events = linked_history()
    entries = household_timeline(documents(events))
    application, classified, allowance, medical = entries[:4]
    assert classified.causes == [
        Link("caused by", str(events[0].event_id), 1, "ApplicationReceived")
    ]
    assert allowance.causes == [
        Link("caused by", str(events[1].event_id), 2, "HouseholdClassified")
    ]
    assert [(e.place, e.event_type) for e in classified.effects] == [
        (3, "ReferralIssued"),
        (4, "ReferralIssued"),
    ]
    assert [e.place for e in application.effects] == [2]
    assert medical.effects and all(
        e.event_type == "ReferralOutcomeReported" for e in medical.effects
    )


def test_answers_link_to_their_referral_and_a_settlement_to_the_deliveries_it_counts() -> None:
    entries = household_timeline(documents(history(HH)))
    delivered, declined, settled = entries[5], entries[6], entries[8]
    assert delivered.causes == [
        Link("about referral", entries[2].event_id or "", 3, "ReferralIssued")
    ]
    assert declined.causes[0].place == 4
    assert settled.causes == [
        Link("delivery counted", delivered.event_id or "", 6, "ReferralOutcomeReported")
    ]
    assert [e.place for e in delivered.effects] == [9]


def test_a_cause_outside_the_chain_is_named_not_linked() -> None:
    outside = uuid.uuid4()
    events = history(HH)
    events[1] = events[1].model_copy(update={"causation_id": outside})
    entries = household_timeline(documents(events))
    assert entries[1].causes == [Link("caused by", str(outside), None)]
    assert not entries[0].effects


def test_who_acted_is_the_person_or_department_the_event_names() -> None:
    sent = application_event(HH, submitted_by="clerk.wang", submitted_by_role="intake")
    assert who_acted(sent) == "clerk.wang (intake)"
    assert who_acted(application_event(HH)) == "window application, via test"
    answer = ReferralOutcomeReported(
        referral_id=R_ALLOWANCE,
        program=Program.MINIMUM_LIVING_ALLOWANCE,
        department=Department.CIVIL_AFFAIRS,
        outcome=Outcome.ACCEPTED,
        answered_by="li.na",
    )
    assert who_acted(event(HH, answer, 3, "answer", "feedback")) == "li.na of civil_affairs"
    signal = SignalReceived(
        kind=SignalKind.INCOME_CHANGE,
        person_id=person(7),
        region_code="330100",
        source_department=Department.HUMAN_RESOURCES,
        monthly_income=Decimal(9000),
        submitted_by="hr.desk",
        submitted_by_role="department:human_resources",
    )
    assert (
        who_acted(event(HH, signal, 4, "signal", "intake"))
        == "human_resources, sent by hr.desk (department:human_resources)"
    )
    visit = VisitCompleted.model_validate(
        {
            "region_code": "330100",
            "channel": "grid_worker",
            "members": [member(1)],
            "visit_id": "V-1",
            "visitor": "grid.zhao",
        }
    )
    assert who_acted(event(HH, visit, 5, "visit", "intake")) == "visitor grid.zhao"
    rows = household_timeline(documents(history(HH)))
    assert rows[1].who == "classification"  # a service's own decision: the service
    assert rows[2].who == "referral, to civil_affairs"
    assert rows[5].who == "civil_affairs"


def test_what_and_why_say_the_meaning_not_the_json() -> None:
    rows = household_timeline(documents(history(HH)))
    assert "tier DIBAO" in rows[1].what and "decided by dibao" in rows[1].why
    assert "DELIVERED" in rows[5].what and "cash 1240.00" in rows[5].why
    assert '"cash_amount": "1240.00"' in rows[5].payload  # the payload, for the curious
    applicant = documents(history(HH))[0]["payload"]["members"][0]["person_id"]
    assert applicant not in rows[0].what + rows[0].why + rows[0].who


def test_the_state_as_of_an_instant_folds_the_prefix_recorded_by_then() -> None:
    rows = household_timeline(documents(history(HH)), as_of=at(15))
    assert [r.in_state for r in rows] == [True] * 5 + [False] * 4
    assert all(r.in_state for r in household_timeline(documents(history(HH))))


def test_records_the_chain_writer_did_not_append_are_marked_and_count_for_nothing() -> None:
    chain = documents(history(HH))
    forged = dict(chain[5], event_id=str(uuid.uuid4()))  # a second "delivery", someone else's
    rows = household_timeline([*chain[:5], forged, *chain[5:]], unsigned=[6])
    assert not rows[5].appended_by_writer and not rows[5].in_state
    assert rows[6].in_state  # the writer's own next event still counts
    # The settlement counts the writer's delivery, never the forged one.
    assert rows[9].causes[0].place == 7


def test_an_unreadable_record_is_shown_and_ends_what_the_state_folds() -> None:
    chain: list[dict[str, object] | None] = [*documents(history(HH))[:3], None]
    rows = household_timeline(chain)
    assert rows[3].what == "unreadable record" and rows[3].anchor == "record-4"
    assert [r.in_state for r in rows] == [True, True, True, False]
