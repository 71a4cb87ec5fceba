"""Feedback's HTTP routes: departments list their referrals and answer them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.envelope import derived_event_id
from events.feedback import FeedbackBody, FeedbackSubmitted
from events.types import FINAL_OUTCOMES, Department
from services.feedback.in_flight import InFlight
from services.feedback.ledger import Answer, Ledger, Refusal, Status, fingerprint
from services.runtime.auth import Principal, TokenStore, require
from services.runtime.errors import install_error_handlers
from services.runtime.logging import get_logger
from services.runtime.openapi import errors
from services.runtime.publisher import KafkaPublisher

log = get_logger()


class ReferralView(BaseModel):
    referral_id: str
    household_id: str
    program: str
    department: str
    status: str
    overdue: bool
    issued_at: datetime
    due_at: datetime


class FeedbackAccepted(BaseModel):
    feedback_id: str
    referral_id: str
    outcome: str


@dataclass
class FeedbackDeps:
    tokens: TokenStore
    publisher: KafkaPublisher
    topics: TopicNames
    ledger: Callable[[], Ledger | None]
    # The system's time (the manual clock's, as the feedback processor last read it).
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def create_app(deps: FeedbackDeps) -> FastAPI:
    app = FastAPI(
        title="assist feedback",
        version="1",
        description="Departments list their referrals and report outcomes.",
    )
    install_error_handlers(app)
    reader = Depends(require(deps.tokens, "department", "auditor", "operator"))
    department_only = Depends(require(deps.tokens, "department"))
    # Answers sent until the chain has them: a retry answered the same, a second final refused.
    in_flight = InFlight()

    def ledger() -> Ledger:
        current = deps.ledger()
        if current is None:
            raise HTTPException(503, "feedback is still reading the chain; try again shortly")
        return current

    @app.get(
        "/v1/referrals",
        response_model=list[ReferralView],
        tags=["referrals"],
        summary="Referrals, filtered by department and status",
        responses=errors(503, s503="Still reading the chain"),
    )
    async def list_referrals(
        department: Department | None = None,
        status: Status | None = None,
        principal: Principal = reader,
    ) -> list[ReferralView]:
        own = principal.department
        if own is not None and department not in (None, own):
            raise HTTPException(403, f"{own.value} may list only its own referrals")
        referrals = ledger().listing(own or department, status)
        return [
            ReferralView(
                referral_id=r.referral_id,
                household_id=r.household_id,
                program=r.program.value,
                department=r.department.value,
                status=r.status.value,
                overdue=r.overdue,
                issued_at=r.issued_at,
                due_at=r.due_at,
            )
            for r in referrals
        ]

    @app.post(
        "/v1/referrals/{referral_id}/feedback",
        status_code=202,
        response_model=FeedbackAccepted,
        tags=["referrals"],
        summary="Report a referral's outcome (202, or 404 / 403 / 422 / 409 with the reason)",
        responses=errors(
            404,
            409,
            503,
            s404="No such referral",
            s409="The referral already has a final answer (or is already accepted), or the "
            "Idempotency-Key was used for a different answer",
            s503="Still reading the chain",
        ),
    )
    async def report_feedback(
        referral_id: str,
        body: FeedbackBody,
        idempotency_key: str | None = Header(default=None, max_length=200),
        principal: Principal = department_only,
    ) -> FeedbackAccepted:
        department = principal.department
        assert department is not None
        feedback_id = (
            derived_event_id("feedback-key", referral_id, idempotency_key)
            if idempotency_key
            else uuid.uuid4()
        )
        taken_as = str(derived_event_id("feedback", feedback_id))  # its ReferralOutcomeReported
        earlier = in_flight.answer(taken_as, ledger())
        if earlier is not None:
            # A retry: answered as the first call was, whatever happened to the referral since.
            if earlier.fingerprint != fingerprint(body):
                raise HTTPException(
                    409,
                    f"Idempotency-Key {idempotency_key!r} was already used for a different "
                    "answer to this referral",
                )
            return FeedbackAccepted(
                feedback_id=str(feedback_id), referral_id=referral_id, outcome=earlier.outcome
            )
        try:
            referral = ledger().judge(referral_id, department, body.outcome, body.transfer_to)
        except Refusal as refusal:
            if refusal.field is not None:
                # Answered like any invalid body: 422 naming the field.
                problem = {"loc": ("body", refusal.field), "msg": refusal.reason}
                raise RequestValidationError([problem]) from None
            raise HTTPException(refusal.status_code, refusal.reason) from None
        if referral_id in in_flight.final:
            raise HTTPException(409, f"referral {referral_id!r} already has a final answer")
        message = FeedbackSubmitted(
            **body.model_dump(),
            referral_id=referral_id,
            department=department,
            feedback_id=feedback_id,
            submitted_at=deps.now(),
            answered_by=principal.user,
        )
        await deps.publisher.publish_raw(
            deps.topics.feedback,
            canonical_json(message.model_dump(mode="json")),
            referral_id.encode(),
            "FeedbackSubmitted",
        )
        answer = Answer(referral_id, body.outcome, fingerprint(body))
        in_flight.record(taken_as, answer, final=body.outcome in FINAL_OUTCOMES)
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
        return FeedbackAccepted(
            feedback_id=str(feedback_id), referral_id=referral_id, outcome=body.outcome.value
        )

    return app
