"""What a department may read about one of its referrals: the facts disclosed to it and the
referral's history, as the ledger keeps them for the worklist's pages.

The facts are those of the referral event itself (ReferralIssued, then each ReferralAmended):
the chain writer delivers those very bytes to the department's topic, and the referral service
built them from the department's allowlist, so a page shows exactly what the department has
already received and never more. Pure: no I/O, no clock.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from events.envelope import Envelope
from events.referral import (
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
    ReferredMember,
)
from events.types import Department, Outcome

REFUSED = "answer refused"
_ANSWERED = {outcome: outcome.value.lower() for outcome in Outcome}


@dataclass(frozen=True)
class Disclosed:
    """The facts a referral's department received, held by reference (no copy)."""

    region_code: str
    tier: str
    members: Sequence[ReferredMember]
    grounds: Mapping[str, str]
    household_ref: str | None  # charity's anonymised reference, instead of any member

    @classmethod
    def of(cls, issued: ReferralIssued) -> Disclosed:
        return cls(
            issued.region_code, issued.tier, issued.members, issued.grounds, issued.household_ref
        )

    def amended(self, amendment: ReferralAmended) -> Disclosed:
        """What the department was told anew: the members and grounds replace the old ones."""
        return Disclosed(
            self.region_code,
            self.tier,
            amendment.members,
            amendment.grounds,
            amendment.household_ref,
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a referral's history: what happened, when, who did it, and its particulars.

    Every referral keeps its history, so a line is small: slots, the event's own datetime, and
    the few names it repeats (who, what) interned."""

    at: datetime
    what: str
    by: str | None = None
    details: tuple[tuple[str, str], ...] = ()


def step_of(event: Envelope) -> tuple[str, Step] | None:
    """The referral a chain event is about and its line in that referral's history; None for
    an event about no referral."""
    payload, at, by = event.payload, event.occurred_at, sys.intern(event.producer)
    if isinstance(payload, ReferralIssued):
        # Its due date is the referral's own; only where it came from is told here.
        came = payload.transferred_from
        details = (("transferred from", came),) if came else ()
        return payload.referral_id, Step(at, "issued", by, details)
    if isinstance(payload, ReferralAmended):
        return payload.referral_id, Step(at, "amended", by, (("reason", payload.reason),))
    if isinstance(payload, ReferralOutcomeReported):
        who = sys.intern(payload.answered_by) if payload.answered_by else None
        step = Step(at, _ANSWERED[payload.outcome], who, _answer(payload))
        return payload.referral_id, step
    if isinstance(payload, ReferralOverdue):
        escalated = (("escalated to", payload.escalated_to),)
        return payload.referral_id, Step(at, "overdue", by, escalated)
    if isinstance(payload, ReferralWithdrawn):
        return payload.referral_id, Step(at, "withdrawn", by, (("reason", payload.reason),))
    return None


def refused_step(
    at: datetime, department: Department, by: str | None, status: int, reason: str
) -> Step:
    """An answer sent over Kafka that was not taken (told back as FeedbackRefused)."""
    details = (("status", str(status)), ("reason", reason))
    return Step(at, REFUSED, sys.intern(by) if by else department.value, details)


def _answer(outcome: ReferralOutcomeReported) -> tuple[tuple[str, str], ...]:
    details: list[tuple[str, str]] = []
    if outcome.delivered is not None:
        if outcome.delivered.cash_amount is not None:
            details.append(("amount", str(outcome.delivered.cash_amount)))
        if outcome.delivered.service:
            details.append(("service", outcome.delivered.service))
    if outcome.reason is not None:
        details.append(("reason", outcome.reason.value))
    if outcome.transfer_to is not None:
        details.append(("transferred to", outcome.transfer_to.value))
    if outcome.note:
        details.append(("note", outcome.note))
    return tuple(details)
