"""Answers in flight: kept until the ledger folds them, then forgotten, never lost."""

from __future__ import annotations

from test_feedback_app import referral

from events.types import Department, Outcome, Program
from services.feedback.in_flight import InFlight
from services.feedback.ledger import Answer, Ledger, Status


def test_answers_the_ledger_has_folded_are_forgotten_and_still_answered_from_it() -> None:
    ledger = Ledger()
    for n in range(4):
        ledger.issued(referral(f"R-{n}", Department.EDUCATION, Program.EDUCATION_ASSISTANCE))
    in_flight = InFlight(forget_at=3)
    for n in range(4):
        in_flight.record(f"E-{n}", Answer(f"R-{n}", Outcome.DELIVERED, f"f{n}"), final=True)
    # The chain has the first two back: the ledger took them, their referrals are final.
    for n in range(2):
        ledger.answers[f"E-{n}"] = Answer(f"R-{n}", Outcome.DELIVERED, f"f{n}")
        ledger.set_status(f"R-{n}", Status.DELIVERED)

    assert in_flight.answer("E-0", ledger) == Answer("R-0", Outcome.DELIVERED, "f0")
    assert set(in_flight.sent) == {"E-2", "E-3"}  # the folded two forgotten
    assert in_flight.final == {"R-2", "R-3"}  # a second answer to R-0 is the ledger's to refuse
    assert in_flight.answer("E-3", ledger) == Answer("R-3", Outcome.DELIVERED, "f3")


def test_below_the_threshold_nothing_is_scanned_or_forgotten() -> None:
    ledger = Ledger()
    in_flight = InFlight(forget_at=10)
    in_flight.record("E-1", Answer("R-1", Outcome.ACCEPTED, "f"), final=False)
    ledger.answers["E-1"] = Answer("R-1", Outcome.ACCEPTED, "f")
    in_flight.forget_folded(ledger)
    assert "E-1" in in_flight.sent and not in_flight.final
