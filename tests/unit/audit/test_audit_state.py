"""fold_state: tier, tags, referrals and delivered list as of an instant, from the chain alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from support.factories import application_event
from unit.audit.audit_histories import (
    R_ALLOWANCE,
    R_MEDICAL,
    answered,
    at,
    chained,
    classified,
    documents,
    event,
    history,
    issued,
    overdue,
    withdrawn,
)

from events.household import Emergency
from events.referral import ReferralAmended
from events.schedule import HouseholdClosed, RescreeningDue
from events.types import (
    ClosureReason,
    Department,
    Outcome,
    Program,
    RescreeningReason,
    SignalKind,
)
from services.audit.domain.state import ReferralStatus, fold_records, fold_state

HH = "HH-AUDIT"
ALLOWANCE = (Program.MINIMUM_LIVING_ALLOWANCE, Department.CIVIL_AFFAIRS)


def test_whole_chain_gives_the_latest_classification_and_the_happiness_list() -> None:
    state = fold_state(HH, documents(history(HH)))
    assert state.sequence == 9 and state.head_hash is not None
    assert state.classification is not None
    assert (state.classification.tier, state.classification.policy_version) == (
        "MARGINAL",
        "2027-v1",
    )
    assert [c.policy_version for c in state.classifications] == ["2026-v1", "2027-v1"]
    assert state.referrals[R_ALLOWANCE].status is ReferralStatus.DELIVERED
    assert state.referrals[R_MEDICAL].status is ReferralStatus.DECLINED
    assert state.referrals[R_MEDICAL].reason == "not_covered"
    assert [(d.referral_id, d.cash_amount, d.service) for d in state.delivered] == [
        (R_ALLOWANCE, Decimal("1240.00"), "monthly allowance")
    ]
    assert state.settled and state.settled_sequence == 9


def test_as_of_before_the_delivery_shows_the_referral_accepted_and_nothing_delivered() -> None:
    state = fold_state(HH, documents(history(HH)), as_of=at(15))
    assert state.sequence == 5
    assert state.referrals[R_ALLOWANCE].status is ReferralStatus.ACCEPTED
    assert state.referrals[R_MEDICAL].status is ReferralStatus.OPEN
    assert state.delivered == [] and not state.settled


def test_as_of_the_instant_of_delivery_includes_it() -> None:
    state = fold_state(HH, documents(history(HH)), as_of=at(20))
    assert [d.referral_id for d in state.delivered] == [R_ALLOWANCE]
    assert state.delivered[0].delivered_at == at(20)


def test_as_of_between_screenings_keeps_the_older_policy() -> None:
    before = fold_state(HH, documents(history(HH)), as_of=at(39))
    after = fold_state(HH, documents(history(HH)), as_of=at(40))
    assert before.classification is not None and after.classification is not None
    assert (before.classification.tier, before.classification.policy_version) == (
        "DIBAO",
        "2026-v1",
    )
    assert (after.classification.tier, after.classification.policy_version) == (
        "MARGINAL",
        "2027-v1",
    )


def test_as_of_before_the_first_event_is_empty() -> None:
    state = fold_state(HH, documents(history(HH)), as_of=at(-1))
    assert state.sequence == 0 and state.classification is None and not state.referrals


def test_the_prefix_ends_at_the_first_event_recorded_after_as_of() -> None:
    # A later event stamped earlier (another service's clock) is not part of what was known.
    events = [
        application_event(HH, 1, occurred_at=at(0)),
        classified(HH, 30),
        classified(HH, 5, tier="MARGINAL"),
    ]
    state = fold_state(HH, documents(events), as_of=at(10))
    assert state.sequence == 1 and state.classification is None


def test_the_state_names_the_prefix_it_is_the_fold_of() -> None:
    docs = documents(history(HH))
    state = fold_state(HH, docs, as_of=at(15))
    assert state.head_hash == docs[4]["hash"] and state.recorded_at == at(10)


def test_withdrawn_transferred_and_overdue_referrals() -> None:
    events = [
        application_event(HH, 1, occurred_at=at(0)),
        classified(HH, 1),
        issued(HH, "R1", *ALLOWANCE, 2),
        issued(HH, "R2", Program.HOUSING_ASSISTANCE, Department.HOUSING, 2),
        overdue(HH, "R2", Program.HOUSING_ASSISTANCE, Department.HOUSING, 3),
        answered(
            HH,
            "R2",
            Program.HOUSING_ASSISTANCE,
            Department.HOUSING,
            Outcome.TRANSFERRED,
            4,
            transfer_to=Department.CIVIL_AFFAIRS,
        ),
        issued(
            HH, "R3", Program.HOUSING_ASSISTANCE, Department.CIVIL_AFFAIRS, 5, transferred_from="R2"
        ),
        withdrawn(HH, "R1", *ALLOWANCE, 6),
        # An answer after a final one changes nothing (the ledger refuses it too).
        answered(HH, "R1", *ALLOWANCE, Outcome.DELIVERED, 7, delivered={"cash_amount": "5"}),
    ]
    state = fold_state(HH, documents(events))
    r1, r2, r3 = (state.referrals[r] for r in ("R1", "R2", "R3"))
    assert r1.status is ReferralStatus.WITHDRAWN and r1.answered_sequence == 8
    assert r2.status is ReferralStatus.TRANSFERRED and r2.overdue and r2.reason == "civil_affairs"
    assert r3.status is ReferralStatus.OPEN and r3.transferred_from == "R2"
    assert state.delivered == [] and not state.settled


def test_an_unreadable_record_stops_the_fold_and_says_where() -> None:
    records = [e.to_bytes() for e in chained(history(HH))]
    records[3] = b"not json"
    state = fold_records(HH, records)
    assert state.sequence == 3 and state.unreadable_sequence == 4
    assert state.unreadable_reason is not None and "JSON" in state.unreadable_reason


def test_an_event_that_does_not_validate_stops_the_fold() -> None:
    docs = documents(history(HH))
    docs[2]["payload"]["program"] = "no_such_program"
    state = fold_state(HH, docs)
    assert state.sequence == 2 and state.unreadable_sequence == 3
    assert "payload.program" in (state.unreadable_reason or "")


def test_a_household_over_time_shows_its_rescreenings_amendments_and_closure() -> None:
    allowance = (Program.MINIMUM_LIVING_ALLOWANCE, Department.CIVIL_AFFAIRS)
    due = RescreeningDue(
        reason=RescreeningReason.EMERGENCY_EXPIRED,
        on=date(2026, 9, 1),
        emergency=Emergency(kind=SignalKind.DISASTER, on=date(2026, 6, 2)),
    )
    amended = ReferralAmended(
        referral_id=R_ALLOWANCE,
        reason="members changed",
        members=[],
        **dict(zip(("program", "department"), allowance, strict=True)),
    )
    closed = HouseholdClosed(reason=ClosureReason.LAST_MEMBER_DIED, on=date(2026, 10, 1))
    events = [
        *history(HH)[:3],
        event(HH, due, 50, "due"),
        event(HH, amended, 51, "amended"),
        event(HH, closed, 60, "closed"),
    ]
    state = fold_state(HH, documents(events))
    assert [(r.on, r.reason) for r in state.rescreenings] == [
        (date(2026, 9, 1), "emergency_expired")
    ]
    assert state.rescreenings[0].cause == "disaster on 2026-06-02"
    assert state.referrals[R_ALLOWANCE].amended_sequences == [5]
    assert state.referrals[R_ALLOWANCE].members == ()
    assert state.closed is not None and (state.closed.on, state.closed.reason) == (
        date(2026, 10, 1),
        "last_member_died",
    )
    before = fold_state(HH, documents(events), as_of=at(55))
    assert before.closed is None and len(before.rescreenings) == 1
