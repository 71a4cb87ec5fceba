"""The console's referral board: open and late referrals per department, folded from the chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events.envelope import Payload, new_event
from events.referral import (
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.types import Department, Outcome, Program
from services.operations.referral_board import ReferralBoard
from services.runtime.messages import Inbound

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def chained(payload: Payload) -> Inbound:
    event = new_event(payload, household_id="HH-1", producer="test", occurred_at=NOW)
    return Inbound("assist.chain", 0, 0, b"HH-1", event.to_bytes())


def issued(referral_id: str, department: Department, program: Program, due_in_days: int) -> Inbound:
    return chained(
        ReferralIssued(
            referral_id=referral_id,
            program=program,
            department=department,
            due_at=NOW + timedelta(days=due_in_days),
            region_code="330100",
            tier="DIBAO",
        )
    )


def load(board: ReferralBoard) -> dict[str, tuple[int, int]]:
    return {d.department: (d.open, d.overdue) for d in board.by_department(NOW)}


def test_open_and_overdue_follow_the_referral_events() -> None:
    board = ReferralBoard()
    for message in (
        issued("R-1", Department.CIVIL_AFFAIRS, Program.MINIMUM_LIVING_ALLOWANCE, 10),
        issued("R-2", Department.CIVIL_AFFAIRS, Program.ELDERLY_MEAL_ASSISTANCE, -1),  # past due
        issued("R-3", Department.EDUCATION, Program.EDUCATION_ASSISTANCE, 10),
        issued("R-4", Department.HOUSING, Program.HOUSING_ASSISTANCE, 10),
        issued("R-5", Department.MEDICAL_SECURITY, Program.MEDICAL_ASSISTANCE, 10),
    ):
        board.handle(message, replaying=False)
    board.handle(
        chained(
            ReferralOverdue(
                referral_id="R-3",
                program=Program.EDUCATION_ASSISTANCE,
                department=Department.EDUCATION,
                due_at=NOW,
                escalated_to="civil_affairs",
            )
        ),
        replaying=False,
    )
    board.handle(
        chained(
            ReferralWithdrawn(
                referral_id="R-4",
                program=Program.HOUSING_ASSISTANCE,
                department=Department.HOUSING,
                reason="re-screened",
            )
        ),
        replaying=False,
    )
    board.handle(
        chained(
            ReferralOutcomeReported(
                referral_id="R-5",
                program=Program.MEDICAL_ASSISTANCE,
                department=Department.MEDICAL_SECURITY,
                outcome=Outcome.ACCEPTED,
            )
        ),
        replaying=False,
    )

    counts = load(board)
    assert counts["civil_affairs"] == (2, 1)
    assert counts["education"] == (1, 1)  # feedback said overdue, though not yet past due here
    assert counts["housing"] == (0, 0)  # withdrawn is final
    assert counts["medical_security"] == (1, 0)  # ACCEPTED is not final
    assert set(counts) == {d.value for d in Department}

    board.handle(
        chained(
            ReferralOutcomeReported(
                referral_id="R-3",
                program=Program.EDUCATION_ASSISTANCE,
                department=Department.EDUCATION,
                outcome=Outcome.DELIVERED,
                delivered={"service": "tuition waived"},
            )
        ),
        replaying=False,
    )
    assert load(board)["education"] == (0, 0)


def test_other_events_and_garbage_are_skipped_without_refusing_them() -> None:
    board = ReferralBoard()
    board.handle(Inbound("assist.chain", 0, 1, None, b'{"event_type":"ReferralIssued"'), False)
    board.handle(Inbound("assist.chain", 0, 2, None, b'{"event_type":"ChainSettled"}'), False)
    board.handle(Inbound("assist.chain", 0, 3, None, None), False)
    assert board.unreadable == 1
    assert all(d.open == 0 for d in board.by_department(NOW))


def test_a_referral_issued_twice_counts_once() -> None:
    board = ReferralBoard()
    message = issued("R-1", Department.CHARITY, Program.CHARITY_LINKAGE, 1)
    board.handle(message, False)
    board.handle(message, False)
    assert load(board)["charity"] == (1, 0)
