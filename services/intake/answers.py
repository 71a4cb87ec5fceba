"""Intake's 503 when the broker did not confirm an event in time: what is true of it, and when
to try again (Retry-After)."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.intake.durable import NotConfirmed, NotRecorded


class NotDurable(BaseModel):
    """503: the broker did not confirm the event in time (with a Retry-After header)."""

    error: str  # "not recorded" or "not confirmed"
    detail: str
    recorded: bool | None  # false: nothing was recorded; null: not known yet
    event_id: str
    retry_after_seconds: int


class Unavailable(Exception):  # noqa: N818 - an answer, turned into a response by the handler
    def __init__(self, answer: NotDurable) -> None:
        super().__init__(answer.detail)
        self.answer = answer


def not_durable(error: NotRecorded | NotConfirmed, event_id: UUID, seconds: float) -> NotDurable:
    """The answer to a request whose event was not committed in time, saying what is true."""
    retry_after = max(1, math.ceil(seconds))
    within = f"the broker did not confirm within {seconds:g} s"
    if isinstance(error, NotRecorded):
        return NotDurable(
            error="not recorded",
            detail=f"{within}; nothing was recorded; send the same request again "
            "(with the same Idempotency-Key, if it had one)",
            recorded=False,
            event_id=str(event_id),
            retry_after_seconds=retry_after,
        )
    return NotDurable(
        error="not confirmed",
        detail=f"{within} after the commit was sent; the event may have been recorded: send the "
        "same request again with the same Idempotency-Key (a repeat is never recorded twice), "
        f"or look for event {event_id} before sending it without one",
        recorded=None,
        event_id=str(event_id),
        retry_after_seconds=retry_after,
    )


# The 503 in each route's OpenAPI.
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": NotDurable,
        "description": "Not confirmed by the broker in time (Retry-After), or the system's "
        "clock is not known yet",
    }
}


def install_unavailable_handler(app: FastAPI) -> None:
    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, error: Unavailable) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content=error.answer.model_dump(),
            headers={"Retry-After": str(error.answer.retry_after_seconds)},
        )
