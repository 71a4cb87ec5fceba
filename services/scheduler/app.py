"""The scheduler's HTTP routes: what time the system says it is, and moving a manual clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import Depends, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from events.clock import ClockMode
from services.runtime.auth import ROLES, Principal, TokenStore, require
from services.runtime.clock import ClockNotKnown
from services.runtime.errors import install_error_handlers
from services.runtime.openapi import errors
from services.scheduler.clock import ClockFollowsWall, ClockKeeper, TickNotPublished
from services.scheduler.domain.advance import AdvanceRefused

RETRY_AFTER = {"Retry-After": "1"}


class ClockReply(BaseModel):
    now: str  # ISO 8601 in the deployment's zone
    mode: ClockMode
    today: date  # the date in the deployment's zone
    time_zone: str


class AdvanceRequest(BaseModel):
    """Either `to` (midnight of that date, deployment zone) or `days` (calendar days on)."""

    model_config = ConfigDict(extra="forbid")
    to: date | None = None
    days: int | None = Field(default=None, ge=1, le=36_500)


class AdvanceReply(BaseModel):
    now: str
    previous: str
    mode: ClockMode
    advanced_by: str


@dataclass
class SchedulerDeps:
    tokens: TokenStore
    keeper: ClockKeeper


def create_app(deps: SchedulerDeps) -> FastAPI:
    app = FastAPI(
        title="assist scheduler",
        version="1",
        description="The system's clock (wall or manual) and the dates that matter.",
    )
    install_error_handlers(app)
    anyone = Depends(require(deps.tokens, *sorted(ROLES), "department"))
    operator = Depends(require(deps.tokens, "operator"))
    keeper, zone = deps.keeper, deps.keeper.settings.zone

    @app.get(
        "/v1/clock",
        response_model=ClockReply,
        tags=["clock"],
        summary="The system's current time, its mode, and today's date",
        responses=errors(503, s503="The clock is not known yet (Retry-After)"),
    )
    async def show_clock(principal: Principal = anyone) -> ClockReply:
        try:
            now = keeper.now()
        except ClockNotKnown as error:
            raise HTTPException(503, str(error), headers=RETRY_AFTER) from None
        local = now.astimezone(zone)
        return ClockReply(
            now=local.isoformat(),
            mode=keeper.mode,
            today=local.date(),
            time_zone=keeper.settings.time_zone,
        )

    @app.post(
        "/v1/clock/advance",
        response_model=AdvanceReply,
        tags=["clock"],
        summary="Move the manual clock forward (operator); every timer it passes fires",
        responses=errors(
            409,
            503,
            s409="The clock follows the wall clock: it cannot be advanced",
            s503="The clock is not known yet, or the broker did not take the tick (Retry-After)",
        ),
    )
    async def advance_clock(body: AdvanceRequest, principal: Principal = operator) -> AdvanceReply:
        try:
            advanced = await keeper.advance(principal.user, to=body.to, days=body.days)
        except AdvanceRefused as refused:
            raise RequestValidationError(
                [{"loc": ("body", refused.field), "msg": refused.message, "type": "value_error"}]
            ) from None
        except ClockFollowsWall as error:
            raise HTTPException(409, f"{error}: it cannot be advanced") from None
        except (ClockNotKnown, TickNotPublished) as error:
            raise HTTPException(503, str(error), headers=RETRY_AFTER) from None
        return AdvanceReply(
            now=advanced.now.astimezone(zone).isoformat(),
            previous=advanced.previous.astimezone(zone).isoformat(),
            mode=ClockMode.MANUAL,
            advanced_by=advanced.advanced_by,
        )

    return app
