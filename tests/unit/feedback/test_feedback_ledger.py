"""The referral ledger: the rules of feedback, overdue and settlement, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.types import Department, Outcome, Program
from services.feedback.ledger import FINAL, Ledger, Referral, Refusal, Status

ISSUED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DUE = ISSUED + timedelta(days=10)
EDU = Department.EDUCATION


def referral(
    referral_id: str = "R-1",
    household: str = "HH-1",
    department: Department = EDU,
    due: datetime = DUE,
) -> Referral:
    return Referral(
        referral_id=referral_id,
        household_id=household,
        program=Program.EDUCATION_ASSISTANCE,
        department=department,
        due_at=due,
        issued_at=ISSUED,
        issued_event_id="00000000-0000-0000-0000-000000000001",
        correlation_id="00000000-0000-0000-0000-000000000002",
    )


def ledger(*referrals: Referral) -> Ledger:
    book = Ledger()
    for r in referrals or (referral(),):
        book.issued(r)
    return book


def refusal(book: Ledger, referral_id: str, department: Department, outcome: Outcome) -> Refusal:
    with pytest.raises(Refusal) as refused:
        book.judge(referral_id, department, outcome)
    return refused.value


def test_an_unknown_referral_is_404() -> None:
    refused = refusal(ledger(), "R-404", EDU, Outcome.DELIVERED)
    assert refused.status_code == 404 and "R-404" in refused.reason


def test_another_departments_referral_is_403() -> None:
    refused = refusal(ledger(), "R-1", Department.HOUSING, Outcome.ACCEPTED)
    assert refused.status_code == 403
    assert "education" in refused.reason and "housing" in refused.reason


@pytest.mark.parametrize(
    "final", [Status.DELIVERED, Status.DECLINED, Status.TRANSFERRED, Status.WITHDRAWN]
)
@pytest.mark.parametrize("outcome", list(Outcome))
def test_after_a_final_answer_every_answer_is_409(final: Status, outcome: Outcome) -> None:
    book = ledger()
    book.set_status("R-1", final)
    refused = refusal(book, "R-1", EDU, outcome)
    assert refused.status_code == 409 and final.value in refused.reason


def test_a_transfer_to_the_same_department_is_422_naming_transfer_to() -> None:
    book = ledger()
    with pytest.raises(Refusal) as refused:
        book.judge("R-1", EDU, Outcome.TRANSFERRED, transfer_to=EDU)
    assert (refused.value.status_code, refused.value.field) == (422, "transfer_to")
    assert "already with education" in refused.value.reason
    assert book.judge("R-1", EDU, Outcome.TRANSFERRED, transfer_to=Department.HOUSING)


def test_a_closed_households_referrals_are_never_due_and_the_earliest_comes_first() -> None:
    book = ledger(
        referral("R-late", due=DUE + timedelta(days=2)),
        referral("R-1"),
        referral("R-closed", household="HH-closed"),
    )
    book.closed.add("HH-closed")
    late = DUE + timedelta(days=3)
    assert [r.referral_id for r in book.due_for_overdue(late)] == ["R-1", "R-late"]


def test_accepted_then_delivered_is_fine() -> None:
    book = ledger()
    assert book.judge("R-1", EDU, Outcome.ACCEPTED).referral_id == "R-1"
    book.set_status("R-1", Status.ACCEPTED)
    assert book.judge("R-1", EDU, Outcome.DELIVERED).status is Status.ACCEPTED
    book.set_status("R-1", Status.DELIVERED)
    assert book.referrals["R-1"].final


def test_accepted_twice_is_409() -> None:
    book = ledger()
    book.set_status("R-1", Status.ACCEPTED)
    assert refusal(book, "R-1", EDU, Outcome.ACCEPTED).status_code == 409


def test_a_final_status_never_changes() -> None:
    book = ledger()
    book.set_status("R-1", Status.DELIVERED)
    book.set_status("R-1", Status.WITHDRAWN)
    assert book.referrals["R-1"].status is Status.DELIVERED


def test_the_same_referral_issued_twice_is_kept_once() -> None:
    book = ledger(referral(), referral())
    assert book.by_household == {"HH-1": ["R-1"]}


def test_overdue_only_past_the_due_date_and_only_while_not_final() -> None:
    book = ledger(referral("R-1"), referral("R-2"), referral("R-3"))
    assert book.due_for_overdue(DUE - timedelta(seconds=1)) == []
    assert book.due_for_overdue(DUE) == []
    book.set_status("R-2", Status.ACCEPTED)  # in progress is still late
    book.set_status("R-3", Status.DELIVERED)
    late = book.due_for_overdue(DUE + timedelta(microseconds=1))
    assert [r.referral_id for r in late] == ["R-1", "R-2"]
    late[0].overdue = True
    assert [r.referral_id for r in book.due_for_overdue(DUE + timedelta(days=9))] == ["R-2"]


def test_overdue_counts_by_department_leave_out_final_referrals() -> None:
    book = ledger(referral("R-1"), referral("R-2"), referral("R-3", department=Department.HOUSING))
    for r in book.referrals.values():
        r.overdue = True
    book.set_status("R-2", Status.DECLINED)
    counts = book.overdue_by_department()
    assert counts["education"] == 1 and counts["housing"] == 1
    assert set(counts) == {d.value for d in Department}


def test_settled_when_every_referral_is_final_withdrawn_included() -> None:
    book = ledger(referral("R-1"), referral("R-2"), referral("R-X", household="HH-2"))
    assert book.settlement("HH-1") is None
    book.set_status("R-1", Status.DELIVERED)
    assert book.settlement("HH-1") is None
    book.set_status("R-2", Status.WITHDRAWN)
    settled = book.settlement("HH-1")
    assert settled is not None and [r.referral_id for r in settled] == ["R-1", "R-2"]
    assert book.settlement("HH-2") is None
    assert book.settlement("HH-nobody") is None


def test_settled_once_per_set_and_again_after_a_new_referral_is_final() -> None:
    book = ledger(referral("R-1"))
    book.set_status("R-1", Status.DECLINED)
    assert book.settlement("HH-1") is not None
    book.settled_at_count["HH-1"] = 1
    assert book.settlement("HH-1") is None
    book.issued(referral("R-2"))
    assert book.settlement("HH-1") is None
    book.set_status("R-2", Status.DELIVERED)
    settled = book.settlement("HH-1")
    assert settled is not None and len(settled) == 2


def test_listing_filters_by_department_and_status() -> None:
    book = ledger(referral("R-1"), referral("R-2", department=Department.HOUSING), referral("R-3"))
    book.set_status("R-3", Status.ACCEPTED)
    assert [r.referral_id for r in book.listing(EDU, None)] == ["R-1", "R-3"]
    assert [r.referral_id for r in book.listing(None, Status.OPEN)] == ["R-1", "R-2"]
    assert [r.referral_id for r in book.listing(EDU, Status.ACCEPTED)] == ["R-3"]
    assert len(book.listing(None, None)) == 3


def test_final_statuses() -> None:
    assert {Status.DELIVERED, Status.DECLINED, Status.WITHDRAWN} <= FINAL
    assert Status.OPEN not in FINAL and Status.ACCEPTED not in FINAL


def test_a_transferred_referral_is_settled_by_its_successor() -> None:
    book = ledger(referral("R-1"))
    book.set_status("R-1", Status.TRANSFERRED)
    assert book.settlement("HH-1") is None  # the receiving department has not answered yet
    successor = referral("R-2", department=Department.CIVIL_AFFAIRS)
    successor.transferred_from = "R-1"
    book.issued(successor)
    assert book.settlement("HH-1") is None
    book.set_status("R-2", Status.DELIVERED)
    settled = book.settlement("HH-1")
    assert settled is not None and [r.referral_id for r in settled] == ["R-1", "R-2"]
