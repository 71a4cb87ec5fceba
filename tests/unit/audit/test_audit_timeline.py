"""The timeline: which service, which event, and why (rule trace, referral outcomes)."""

from __future__ import annotations

from decimal import Decimal

from support.factories import NOW, application_event, person
from unit.audit.audit_histories import documents, history

from events.envelope import new_event
from events.monitoring import SignalReceived
from events.types import Department, SignalKind
from services.audit.domain.timeline import describe, timeline

HH = "HH-T"


def test_every_event_of_a_history_gets_a_row_in_chain_order() -> None:
    rows = timeline(documents(history(HH)))
    assert [r.sequence for r in rows] == list(range(1, 10))
    assert [r.producer for r in rows][:3] == ["test", "classification", "referral"]


def test_a_classification_says_which_rule_decided_on_which_numbers() -> None:
    row = timeline(documents(history(HH)))[1]
    assert row.event_type == "HouseholdClassified"
    assert "tier DIBAO" in row.what and "policy 2026-v1" in row.what
    assert "decided by dibao" in row.why and "pci=700.00" in row.why and "D=1000.00" in row.why
    assert "extremely_poor: a member can work" in row.why


def test_referral_outcomes_say_what_was_delivered_or_why_declined() -> None:
    rows = timeline(documents(history(HH)))
    assert "DELIVERED" in rows[5].what and "cash 1240.00" in rows[5].why
    assert "DECLINED" in rows[6].what and "reason not_covered" in rows[6].why
    assert "minimum_living_allowance -> civil_affairs" in rows[2].what


def test_resident_ids_are_masked_and_unreadable_events_explained() -> None:
    application = documents(history(HH))[0]
    person = application["payload"]["members"][0]["person_id"]
    row = describe(application)
    assert person not in row.what + row.why
    broken = describe({"sequence": 4, "event_type": "Nope", "payload": {}})
    assert broken.what == "unreadable event" and "event_type" in broken.why


def test_who_sent_an_event_to_intake_is_on_its_row() -> None:
    sent = application_event(HH, submitted_by="clerk.wang", submitted_by_role="intake")
    assert describe(sent.to_document()).why == "sent by clerk.wang (intake)"
    signal = SignalReceived(
        kind=SignalKind.INCOME_CHANGE,
        person_id=person(7),
        region_code="330100",
        source_department=Department.HUMAN_RESOURCES,
        monthly_income=Decimal(90000),
        submitted_by="hr.desk",
        submitted_by_role="department:human_resources",
    )
    row = describe(
        new_event(signal, household_id=HH, producer="intake", occurred_at=NOW).to_document()
    )
    assert row.why == "from human_resources; sent by hr.desk (department:human_resources)"
    # Events written before intake recorded the sender say nothing of one.
    assert describe(application_event(HH).to_document()).why == ""
