"""Result feedback: departments' answers become ReferralOutcomeReported; overdue; settled.

An answer on assist.feedback is taken once per feedback_id (a producer's retry is dropped); one
that cannot be taken is told back to the department on its own topic (refusals.py), in the
transaction that consumes it.

Overdue is a timer on the system's clock: the handler follows `assist.clock` and marks a
referral overdue once the clock has passed its due date, whatever the wall clock says, so a
replay or a restart fires each overdue on the same ticks (and its id is derived, so the chain
writer drops a repeat). Before the first tick is read nothing is overdue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, Payload, derived_event_id, new_event
from events.feedback import FeedbackSubmitted
from events.referral import (
    ChainSettled,
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.schedule import HouseholdClosed
from events.types import EventType
from services.feedback.case_file import Disclosed, refused_step, step_of
from services.feedback.ledger import (
    STATUS_OF_OUTCOME,
    Answer,
    Ledger,
    Referral,
    Refusal,
    Status,
    fingerprint,
)
from services.feedback.refusals import Said, invalid, told_back, what_it_said
from services.runtime import metrics
from services.runtime.clock import ClockTime
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected

SERVICE = "feedback"
# On the chain only referral events matter; other event types (their header says which)
# are skipped undecoded (garbage is still decoded, and refused).
_SKIPPED = frozenset(EventType) - {
    EventType.REFERRAL_ISSUED,
    EventType.REFERRAL_WITHDRAWN,
    EventType.REFERRAL_AMENDED,
    EventType.REFERRAL_OUTCOME_REPORTED,
    EventType.REFERRAL_OVERDUE,
    EventType.CHAIN_SETTLED,
    EventType.HOUSEHOLD_CLOSED,
}
ESCALATED_TO = "civil_affairs"  # unified identification follows up late referrals
log = get_logger()


class FeedbackHandler:
    def __init__(self, topics: TopicNames) -> None:
        self.topics = topics
        self.ledger = Ledger()
        self.clock = ClockTime()  # the system's time, as read from assist.clock

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.clock:
            if not self.clock.observe_message(message.value):
                raise Rejected("value: not a ClockAdvanced event")
            return []
        if message.topic == self.topics.feedback:
            return self._answer(message, replaying)
        if message.event_type in _SKIPPED:
            return []  # a chain event about no referral: skip the decode
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        return self._emit(self._fold(event))

    def tick(self, now: datetime) -> Sequence[Outbound]:
        """Overdue referrals on the system's clock; `now` (the wall clock) is not read."""
        clock = self.clock.now
        due = self.ledger.due_for_overdue(clock) if clock is not None else []
        events = []
        for referral in due:
            referral.overdue = True
            payload = ReferralOverdue(
                referral_id=referral.referral_id,
                program=referral.program,
                department=referral.department,
                due_at=referral.due_at,
                escalated_to=ESCALATED_TO,
            )
            log.warning(
                "referral overdue",
                household_id=referral.household_id,
                referral_id=referral.referral_id,
                department=referral.department.value,
                due_at=referral.due_at.isoformat(),
                event_type="ReferralOverdue",
                correlation_id=referral.correlation_id,
            )
            # It became overdue at its due date, whenever the clock was seen to pass it.
            overdue_id = derived_event_id(referral.referral_id, "overdue")
            events.append(self._event(payload, referral, referral.due_at, overdue_id, clock))
        for department, count in self.ledger.overdue_by_department().items():
            metrics.OVERDUE_REFERRALS.labels(department).set(count)
        return self._emit(events)

    def _emit(self, events: list[Envelope]) -> list[Outbound]:
        return [Outbound.event(self.topics.events, e) for e in events]

    def _fold(self, event: Envelope) -> list[Envelope]:
        caused = self._fold_status(event)
        noted = step_of(event)
        if noted is not None:  # the referral's history, for its department's page
            self.ledger.noted(*noted)
        return caused

    def _fold_status(self, event: Envelope) -> list[Envelope]:
        payload, household = event.payload, str(event.household_id)
        if isinstance(payload, ReferralIssued):
            self.ledger.issued(
                Referral(
                    referral_id=payload.referral_id,
                    household_id=household,
                    program=payload.program,
                    department=payload.department,
                    due_at=payload.due_at,
                    issued_at=event.occurred_at,
                    issued_event_id=str(event.event_id),
                    correlation_id=str(event.correlation_id),
                    transferred_from=payload.transferred_from,
                    disclosed=Disclosed.of(payload),
                )
            )
            return []
        if isinstance(payload, ReferralAmended):
            self.ledger.amended(payload)
            return []
        if isinstance(payload, ReferralWithdrawn):
            self.ledger.set_status(payload.referral_id, Status.WITHDRAWN)
        elif isinstance(payload, ReferralOutcomeReported):
            self.ledger.set_status(payload.referral_id, STATUS_OF_OUTCOME[payload.outcome])
            # What the chain says was taken, whichever input a replay reads first.
            self.ledger.answers.setdefault(
                str(event.event_id),
                Answer(payload.referral_id, payload.outcome, fingerprint(payload)),
            )
        elif isinstance(payload, ReferralOverdue):
            referral = self.ledger.referrals.get(payload.referral_id)
            if referral is not None:
                referral.overdue = True
            return []
        elif isinstance(payload, ChainSettled):
            self.ledger.settled_at_count[household] = payload.referrals
            return []
        elif isinstance(payload, HouseholdClosed):
            self.ledger.closed.add(household)
            return []
        else:
            return []
        return self._settle(event, household)

    def _settle(self, cause: Envelope, household: str) -> list[Envelope]:
        referrals = self.ledger.settlement(household)
        if referrals is None:
            return []
        self.ledger.settled_at_count[household] = len(referrals)
        delivered = [r.referral_id for r in referrals if r.status is Status.DELIVERED]
        log.info(
            "chain settled",
            household_id=household,
            referrals=len(referrals),
            delivered=len(delivered),
            event_type="ChainSettled",
            correlation_id=str(cause.correlation_id),
        )
        return [
            new_event(
                ChainSettled(referrals=len(referrals), delivered=delivered),
                household_id=household,
                producer=SERVICE,
                occurred_at=cause.occurred_at,
                event_id=derived_event_id(household, "settled", len(referrals)),
                cause=cause,
            )
        ]

    def _answer(self, message: Inbound, replaying: bool) -> list[Outbound]:
        """A department's answer: its outcome, nothing for a repeat, or its refusal told back."""
        try:
            document = json.loads(message.value or b"")
        except ValueError as error:  # UnicodeDecodeError included
            raise Rejected(f"value: not JSON ({error})") from None
        try:
            feedback = FeedbackSubmitted.model_validate(document)
        except ValidationError as error:
            return self._refuse(message, what_it_said(document), invalid(error), replaying)
        feedback_event_id = derived_event_id("feedback", feedback.feedback_id)
        if str(feedback_event_id) in self.ledger.answers:
            return []  # the same answer delivered twice, or already on the chain: no refusal
        try:
            referral = self.ledger.judge(
                feedback.referral_id, feedback.department, feedback.outcome, feedback.transfer_to
            )
        except Refusal as refusal:
            said = Said(feedback.department, feedback.referral_id, feedback.feedback_id)
            return self._refuse(message, said, refusal, replaying, feedback.answered_by)
        self.ledger.answers[str(feedback_event_id)] = Answer(
            referral.referral_id, feedback.outcome, fingerprint(feedback)
        )
        self.ledger.set_status(referral.referral_id, STATUS_OF_OUTCOME[feedback.outcome])
        payload = ReferralOutcomeReported(
            referral_id=referral.referral_id,
            program=referral.program,
            department=referral.department,
            outcome=feedback.outcome,
            reason=feedback.reason,
            delivered=feedback.delivered,
            transfer_to=feedback.transfer_to,
            note=feedback.note,
            answered_by=feedback.answered_by,
        )
        occurred = feedback.submitted_at or datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)
        log.info(
            "feedback taken",
            household_id=referral.household_id,
            referral_id=referral.referral_id,
            outcome=feedback.outcome.value,
            event_type="ReferralOutcomeReported",
            correlation_id=referral.correlation_id,
        )
        # Recorded on the system's clock (the wall's until a tick is read): a referral it
        # causes (a transfer, charity) is due from then at the earliest.
        return self._emit(
            [self._event(payload, referral, occurred, feedback_event_id, self.clock.now)]
        )

    def _refuse(
        self,
        message: Inbound,
        said: Said,
        refusal: Refusal,
        replaying: bool,
        answered_by: str | None = None,
    ) -> list[Outbound]:
        """Told to the department the message named; naming none, it is a dead letter. A
        refused answer to the department's own referral goes into that referral's history."""
        if said.department is None:
            raise Rejected(refusal.reason)
        if not replaying:
            log.warning(
                "feedback refused",
                referral_id=said.referral_id,
                department=said.department.value,
                feedback_id=str(said.feedback_id) if said.feedback_id else None,
                status=refusal.status_code,
                field=refusal.field,
                reason=refusal.reason,
                source=f"{message.topic}/{message.partition}@{message.offset}",
                event_type="FeedbackRefused",
            )
        # On the system's clock, the wall's until a tick is read (as an outcome's recorded_at).
        now = self.clock.now or datetime.now(UTC)
        own = self.ledger.referrals.get(said.referral_id or "")
        if own is not None and own.department == said.department:
            step = refused_step(
                now, said.department, answered_by, refusal.status_code, refusal.reason
            )
            self.ledger.noted(own.referral_id, step)
        return [told_back(message, said.department, said, refusal, self.topics, now)]

    def _event(
        self,
        payload: Payload,
        referral: Referral,
        occurred_at: datetime,
        event_id: uuid.UUID,
        recorded_at: datetime | None = None,
    ) -> Envelope:
        """An event about a referral: caused by its issue, in its correlation."""
        return new_event(
            payload,
            household_id=referral.household_id,
            producer=SERVICE,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            event_id=event_id,
            correlation_id=uuid.UUID(referral.correlation_id),
            causation_id=uuid.UUID(referral.issued_event_id),
        )
