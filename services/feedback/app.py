"""Feedback's HTTP routes: departments list their referrals and answer them, over the API or
on the worklist's pages (worklist_routes.py); both send an answer through one `Submission`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from contracts.topics import TopicNames
from events.feedback import FeedbackBody
from events.types import Department
from services.feedback.ledger import Ledger, Refusal, Status
from services.feedback.submission import Submission
from services.feedback.worklist_routes import install_worklist
from services.runtime.auth import Principal, TokenStore, require
from services.runtime.errors import install_error_handlers
from services.runtime.openapi import errors
from services.runtime.publisher import KafkaPublisher


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
        description="Departments list their referrals and report outcomes, over this API or on "
        "the worklist's pages (/worklist, a department token through the log-in form).",
    )
    install_error_handlers(app)
    reader = Depends(require(deps.tokens, "department", "auditor", "operator"))
    department_only = Depends(require(deps.tokens, "department"))
    # The one path of an answer, shared with the worklist's form.
    submission = Submission(deps.publisher, deps.topics, deps.now)

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
        try:
            sent = await submission.submit(
                ledger(), referral_id, body, department, principal.user, idempotency_key
            )
        except Refusal as refusal:
            if refusal.field is not None:
                # Answered like any invalid body: 422 naming the field.
                problem = {"loc": ("body", refusal.field), "msg": refusal.reason}
                raise RequestValidationError([problem]) from None
            raise HTTPException(refusal.status_code, refusal.reason) from None
        return FeedbackAccepted(
            feedback_id=str(sent.feedback_id), referral_id=referral_id, outcome=sent.outcome.value
        )

    install_worklist(app, deps.tokens, deps.ledger, deps.now, submission)
    return app
