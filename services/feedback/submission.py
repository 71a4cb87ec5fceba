"""A department's answer sent over HTTP: the one path of the API and of the worklist's form.

Judged by the ledger (404, 403, 409, 422 naming the field), refused at once while another final
answer is in flight, answered as before when its Idempotency-Key was seen, and otherwise sent to
assist.feedback as a FeedbackSubmitted naming the person who answered; the feedback processor
takes it from there, as it takes an answer sent over Kafka. No HTTP here: every refusal is a
`Refusal` with the status it maps to, so both routes answer alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.envelope import derived_event_id
from events.feedback import FeedbackBody, FeedbackSubmitted
from events.types import FINAL_OUTCOMES, Department, Outcome
from services.feedback.in_flight import InFlight
from services.feedback.ledger import Answer, Ledger, Refusal, fingerprint
from services.runtime.logging import get_logger
from services.runtime.publisher import KafkaPublisher

log = get_logger()


@dataclass(frozen=True)
class Sent:
    """An answer on its way to the chain (or sent before, for a retry with the same key)."""

    feedback_id: uuid.UUID
    referral_id: str
    outcome: Outcome


class Submission:
    """Sends answers; remembers those in flight until the ledger has them back from the chain."""

    def __init__(
        self, publisher: KafkaPublisher, topics: TopicNames, now: Callable[[], datetime]
    ) -> None:
        self._publisher = publisher
        self._topics = topics
        self._now = now
        # Answers sent until the chain has them: a retry answered the same, a second final refused.
        self.in_flight = InFlight()

    async def submit(
        self,
        ledger: Ledger,
        referral_id: str,
        body: FeedbackBody,
        department: Department,
        answered_by: str,
        idempotency_key: str | None,
    ) -> Sent:
        """The answer sent (or the one first sent under this key), or a Refusal saying why not."""
        feedback_id = (
            derived_event_id("feedback-key", referral_id, idempotency_key)
            if idempotency_key
            else uuid.uuid4()
        )
        taken_as = str(derived_event_id("feedback", feedback_id))  # its ReferralOutcomeReported
        earlier = self.in_flight.answer(taken_as, ledger)
        if earlier is not None:
            # A retry: answered as the first call was, whatever happened to the referral since.
            if earlier.fingerprint != fingerprint(body):
                raise Refusal(
                    409,
                    f"Idempotency-Key {idempotency_key!r} was already used for a different "
                    "answer to this referral",
                )
            return Sent(feedback_id, referral_id, earlier.outcome)
        referral = ledger.judge(referral_id, department, body.outcome, body.transfer_to)
        if referral_id in self.in_flight.final:
            raise Refusal(409, f"referral {referral_id!r} already has a final answer")
        message = FeedbackSubmitted(
            **body.model_dump(),
            referral_id=referral_id,
            department=department,
            feedback_id=feedback_id,
            submitted_at=self._now(),
            answered_by=answered_by,
        )
        await self._publisher.publish_raw(
            self._topics.feedback,
            canonical_json(message.model_dump(mode="json")),
            referral_id.encode(),
            "FeedbackSubmitted",
        )
        answer = Answer(referral_id, body.outcome, fingerprint(body))
        self.in_flight.record(taken_as, answer, final=body.outcome in FINAL_OUTCOMES)
        log.info(
            "feedback queued",
            referral_id=referral_id,
            department=department.value,
            outcome=body.outcome.value,
            feedback_id=str(feedback_id),
            household_id=referral.household_id,
            correlation_id=referral.correlation_id,
            event_type="FeedbackSubmitted",
        )
        return Sent(feedback_id, referral_id, body.outcome)
