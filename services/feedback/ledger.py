"""The referral ledger: every referral's status, folded from the chain, and the rules of feedback.

Pure: no Kafka, no HTTP, no clock (`now`, the system clock's time, is passed in). The feedback
processor and the HTTP routes share one ledger, so an answer is judged the same way whichever
way it arrives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from events.canonical import canonical_json
from events.feedback import FeedbackBody
from events.referral import ReferralAmended
from events.types import (
    FINAL_REFERRAL_STATUSES,
    REFERRAL_STATUS_OF_OUTCOME,
    Department,
    Outcome,
    Program,
    ReferralStatus,
)
from services.feedback.case_file import REFUSED, Disclosed, Step

# The ledger speaks the statuses every reader of referrals shares.
Status = ReferralStatus
FINAL = FINAL_REFERRAL_STATUSES
STATUS_OF_OUTCOME = REFERRAL_STATUS_OF_OUTCOME
# A department may send refused answers at will: a referral's history keeps the first few.
REFUSALS_KEPT = 10


@dataclass
class Referral:
    referral_id: str
    household_id: str
    program: Program
    department: Department
    due_at: datetime
    issued_at: datetime
    issued_event_id: str
    correlation_id: str
    status: Status = Status.OPEN
    overdue: bool = False
    transferred_from: str | None = None
    # What its department was told (kept while it is open: memory holds the facts of the open
    # referrals only; the department's topic keeps them all), and what happened to it.
    disclosed: Disclosed | None = None
    history: list[Step] = field(default_factory=list)
    refusals_not_kept: int = 0

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class Answer:
    """A department's answer taken, under its feedback id: a retry of it is answered the same."""

    referral_id: str
    outcome: Outcome
    fingerprint: str  # of the body: the same key with another body is a different request


def fingerprint(answer: BaseModel) -> str:
    """What identifies an answer's content: the fields of a FeedbackBody, from the request, the
    feedback topic's message or the chain's ReferralOutcomeReported alike."""
    fields = answer.model_dump(mode="json", include=set(FeedbackBody.model_fields))
    return hashlib.sha256(canonical_json(fields)).hexdigest()


class Refusal(Exception):  # noqa: N818 - a verdict, with the HTTP status it maps to
    """Feedback that cannot be taken: unknown (404), wrong department (403), a body that does
    not fit the referral (422, naming `field`), final (409)."""

    def __init__(self, status_code: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason
        self.field = field


@dataclass
class Ledger:
    referrals: dict[str, Referral] = field(default_factory=dict)
    by_household: dict[str, list[str]] = field(default_factory=dict)
    settled_at_count: dict[str, int] = field(default_factory=dict)
    # Households with no member left: their referrals are withdrawn and never go overdue, even
    # on a tick that comes between the closing and the withdrawals.
    closed: set[str] = field(default_factory=set)
    # Every answer taken, by the id of its ReferralOutcomeReported (derived from the feedback
    # id): a repeat is dropped, a retry with the same Idempotency-Key answered as the first.
    answers: dict[str, Answer] = field(default_factory=dict)

    def issued(self, referral: Referral) -> None:
        if referral.referral_id not in self.referrals:
            self.referrals[referral.referral_id] = referral
            self.by_household.setdefault(referral.household_id, []).append(referral.referral_id)

    def set_status(self, referral_id: str, status: Status) -> None:
        referral = self.referrals.get(referral_id)
        if referral is not None and not referral.final:
            referral.status = status
            if referral.final:
                referral.disclosed = None

    def amended(self, amendment: ReferralAmended) -> None:
        """The department was told the referral anew: its page shows what it was told."""
        referral = self.referrals.get(amendment.referral_id)
        if referral is not None and referral.disclosed is not None:
            referral.disclosed = referral.disclosed.amended(amendment)

    def noted(self, referral_id: str, step: Step) -> None:
        """A line of the referral's history; refusals past the first few are only counted."""
        referral = self.referrals.get(referral_id)
        if referral is None:
            return
        if step.what == REFUSED and (
            sum(s.what == REFUSED for s in referral.history) >= REFUSALS_KEPT
        ):
            referral.refusals_not_kept += 1
            return
        referral.history.append(step)

    def judge(
        self,
        referral_id: str,
        department: Department,
        outcome: Outcome,
        transfer_to: Department | None = None,
    ) -> Referral:
        """The referral this answer is for, or a Refusal saying why it cannot be taken."""
        referral = self.referrals.get(referral_id)
        if referral is None:
            raise Refusal(404, f"unknown referral {referral_id!r}")
        if referral.department != department:
            raise Refusal(
                403,
                f"referral {referral_id!r} belongs to {referral.department.value}, "
                f"not to {department.value}",
            )
        if outcome is Outcome.TRANSFERRED and transfer_to == referral.department:
            raise Refusal(
                422,
                f"referral {referral_id!r} is already with {referral.department.value}; "
                "a transfer names another department",
                field="transfer_to",
            )
        if referral.final:
            raise Refusal(
                409,
                f"referral {referral_id!r} already has a final answer ({referral.status.value})",
            )
        if outcome is Outcome.ACCEPTED and referral.status is Status.ACCEPTED:
            raise Refusal(409, f"referral {referral_id!r} is already accepted")
        return referral

    def due_for_overdue(self, now: datetime) -> list[Referral]:
        """Referrals past their due date without a final answer, not yet marked overdue, of
        households still open; the earliest due first."""
        due = [
            r
            for r in self.referrals.values()
            if not r.final
            and not r.overdue
            and r.due_at < now
            and r.household_id not in self.closed
        ]
        return sorted(due, key=lambda r: (r.due_at, r.referral_id))

    def settlement(self, household_id: str) -> list[Referral] | None:
        """All of the household's referrals, if every one is final and this was not yet said."""
        ids = self.by_household.get(household_id, [])
        if not ids or self.settled_at_count.get(household_id) == len(ids):
            return None
        referrals = [self.referrals[i] for i in ids]
        # A transferred referral is answered by the one its new department received
        # (domain.md: settled means DELIVERED, DECLINED or withdrawn).
        successors = {r.transferred_from for r in referrals}
        settled = all(
            r.final and (r.status is not Status.TRANSFERRED or r.referral_id in successors)
            for r in referrals
        )
        return referrals if settled else None

    def overdue_by_department(self) -> dict[str, int]:
        counts = {d.value: 0 for d in Department}
        for referral in self.referrals.values():
            if referral.overdue and not referral.final:
                counts[referral.department.value] += 1
        return counts

    def worklist(self, department: Department, status: Status | None = None) -> list[Referral]:
        """A department's referrals without a final answer (or those with `status`), the
        soonest due first."""
        chosen = [
            r
            for r in self.referrals.values()
            if r.department == department
            and (r.status == status if status is not None else not r.final)
        ]
        return sorted(chosen, key=lambda r: (r.due_at, r.referral_id))

    def listing(self, department: Department | None, status: Status | None) -> list[Referral]:
        return [
            r
            for r in self.referrals.values()
            if (department is None or r.department == department)
            and (status is None or r.status == status)
        ]
