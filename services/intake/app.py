"""Intake's HTTP routes: one-stop intake of applications, visits, records and signals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from contracts.topics import TopicNames
from events.clock import ClockMode
from events.envelope import Envelope, Payload, new_event
from events.household import ApplicationReceived, VisitCompleted
from services.intake.answers import (
    UNAVAILABLE,
    Unavailable,
    install_unavailable_handler,
    not_durable,
)
from services.intake.callers import data_provider, speaking_for_itself, submitted_by
from services.intake.durable import NotConfirmed, NotRecorded
from services.intake.idempotency import IdempotencyKeys, KeyReused, household_id_for
from services.intake.requests import ApplicationRequest, RecordRequest, SignalRequest, VisitRequest
from services.intake.visits import VisitIndex
from services.rules.standards import PolicyBook
from services.runtime.auth import Principal, TokenStore, require
from services.runtime.clock import ClockNotKnown, ClockSettings, ClockView
from services.runtime.errors import install_error_handlers
from services.runtime.logging import get_logger
from services.runtime.pseudonym import Pseudonyms

SERVICE = "intake"
# A request that comes while a manual clock's first tick is still being read waits this long
# for it (a cold start) before it is answered 503 with Retry-After.
CLOCK_WAIT_SECONDS = 5.0
log = get_logger()
Model = TypeVar("Model", bound=BaseModel)


class Accepted(BaseModel):
    event_id: str
    correlation_id: str
    household_id: str | None = None


class Publisher(Protocol):
    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        """Return once the event is durable; raise NotRecorded or NotConfirmed otherwise."""


@dataclass
class IntakeDeps:
    tokens: TokenStore
    publisher: Publisher
    topics: TopicNames
    policy: PolicyBook
    visits: Callable[[], VisitIndex | None]
    keys: IdempotencyKeys
    # Keys of assist.monitoring: a keyed pseudonym of the person, never the resident id.
    pseudonyms: Pseudonyms
    # The system's clock ("now" of a request without occurred_at, and every recorded_at);
    # without one given, the wall clock.
    clock: ClockView = field(default_factory=lambda: ClockView(ClockSettings(clock=ClockMode.WALL)))
    # How long a request waits for the broker (ASSIST_INTAKE_DURABLE_SECONDS), as said in a 503.
    durable_seconds: float = 5.0


async def system_now(clock: ClockView) -> datetime:
    """Now on the system's clock; 503 with Retry-After while a manual clock is not known."""
    if clock.mode is ClockMode.MANUAL and not clock.known.is_set():
        try:
            await asyncio.wait_for(clock.known.wait(), CLOCK_WAIT_SECONDS)
        except TimeoutError:
            pass
    try:
        return clock.now()
    except ClockNotKnown:
        raise HTTPException(
            503,
            "the system's clock is not known yet (the manual clock has no tick); try again",
            headers={"Retry-After": "1"},
        ) from None


async def _parse(
    request: Request, model: type[Model], policy: PolicyBook, now: datetime
) -> tuple[Model, bytes]:
    body = await request.body()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": f"not JSON: {error}", "type": "json_invalid"}]
        ) from None
    try:
        parsed = model.model_validate(
            data, context={"policy": policy, "now": now, "wall": datetime.now(UTC)}
        )
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
        ) from None
    return parsed, body


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def install_routes(app: FastAPI, deps: IntakeDeps) -> None:
    clerk = Depends(require(deps.tokens, "intake"))
    provider = Depends(data_provider(deps.tokens))

    def event_id_for(route: str, key: str | None, body: bytes, reused: str | None = None) -> UUID:
        """The request's event id; 409 when its Idempotency-Key served another request."""
        try:
            return deps.keys.event_id(route, key, body)
        except KeyReused as error:
            raise HTTPException(409, reused or str(error)) from None

    async def accept(
        payload: Payload,
        *,
        topic: str,
        household_id: str | None,
        occurred_at: datetime,
        recorded_at: datetime,
        event_id: UUID,
        what: str,
        key: bytes | None = None,
        **logged: object,
    ) -> Accepted:
        """Publish the event (durable before we answer), log it, and answer 202."""
        event = new_event(
            payload,
            household_id=household_id,
            producer=SERVICE,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            event_id=event_id,
        )
        try:
            await deps.publisher.publish(topic, event, key=key)
        except (NotRecorded, NotConfirmed) as error:
            log.warning(
                f"{what} not durable",
                household_id=household_id,
                event_type=event.event_type.value,
                correlation_id=str(event.correlation_id),
                reason=str(error),
                recorded="no" if isinstance(error, NotRecorded) else "unknown",
            )
            raise Unavailable(not_durable(error, event_id, deps.durable_seconds)) from None
        log.info(
            f"{what} accepted",
            household_id=household_id,
            event_type=event.event_type,
            correlation_id=str(event.correlation_id),
            **logged,
        )
        return Accepted(
            event_id=str(event.event_id),
            correlation_id=str(event.correlation_id),
            household_id=household_id,
        )

    @app.post(
        "/v1/applications",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_schema(ApplicationRequest),
        tags=["intake"],
        summary="Register a household's application (202 once durably in Kafka)",
        responses=UNAVAILABLE,
    )
    async def submit_application(
        request: Request,
        idempotency_key: str | None = Header(default=None, max_length=200),
        principal: Principal = clerk,
    ) -> Accepted:
        now = await system_now(deps.clock)
        application, body = await _parse(request, ApplicationRequest, deps.policy, now)
        event_id = event_id_for("applications", idempotency_key, body)
        payload = ApplicationReceived.model_validate(
            application.model_dump(exclude={"household_id", "occurred_at"})
            | submitted_by(principal)
        )
        return await accept(
            payload,
            topic=deps.topics.events,
            household_id=application.household_id or household_id_for(event_id),
            occurred_at=application.occurred_at or now,
            recorded_at=now,
            event_id=event_id,
            what="application",
            channel=payload.channel.value,
            members=len(payload.members),
        )

    @app.post(
        "/v1/visits/{visit_id}",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_schema(VisitRequest),
        tags=["intake"],
        summary="Record a home-visit result (the household as found)",
        responses=UNAVAILABLE,
    )
    async def submit_visit(
        visit_id: str,
        request: Request,
        idempotency_key: str | None = Header(default=None, max_length=200),
        principal: Principal = clerk,
    ) -> Accepted:
        now = await system_now(deps.clock)
        visit, body = await _parse(request, VisitRequest, deps.policy, now)
        index = deps.visits()
        household_id = index.households.get(visit_id) if index else None
        if household_id is None:
            raise HTTPException(404, f"no visit {visit_id!r} was requested")
        if index is not None and visit_id in index.completed:
            raise HTTPException(409, f"visit {visit_id!r} already has a result")
        if visit.household_id is not None and visit.household_id != household_id:
            raise HTTPException(
                422, f"household_id: visit {visit_id!r} is for household {household_id!r}"
            )
        event_id = event_id_for(
            f"visits/{visit_id}",
            idempotency_key or visit_id,
            body,
            reused=f"visit {visit_id!r} already has a different result",
        )
        payload = VisitCompleted.model_validate(
            {
                **visit.model_dump(exclude={"household_id", "occurred_at"}),
                "visit_id": visit_id,
                **submitted_by(principal),
            }
        )
        return await accept(
            payload,
            topic=deps.topics.events,
            household_id=household_id,
            occurred_at=visit.occurred_at or now,
            recorded_at=now,
            event_id=event_id,
            what="visit result",
            visit_id=visit_id,
        )

    @app.post(
        "/v1/signals",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_schema(SignalRequest),
        tags=["monitoring"],
        summary="A department's monitoring signal about one person, sent as itself",
        responses=UNAVAILABLE,
    )
    async def submit_signal(
        request: Request,
        idempotency_key: str | None = Header(default=None, max_length=200),
        principal: Principal = provider,
    ) -> Accepted:
        now = await system_now(deps.clock)
        signal, body = await _parse(request, SignalRequest, deps.policy, now)
        speaking_for_itself(principal, signal.source_department)
        return await accept(
            signal.payload(**submitted_by(principal)),
            topic=deps.topics.monitoring,
            household_id=None,
            occurred_at=signal.occurred_at,
            recorded_at=now,
            event_id=event_id_for("signals", idempotency_key, body),
            what="signal",
            key=deps.pseudonyms.key(signal.person_id),
            kind=signal.kind.value,
            person_id=signal.person_id,
        )

    @app.post(
        "/v1/records",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_schema(RecordRequest),
        tags=["monitoring"],
        summary="Verified facts about one person from a department, sent as itself",
        responses=UNAVAILABLE,
    )
    async def submit_record(
        request: Request,
        idempotency_key: str | None = Header(default=None, max_length=200),
        principal: Principal = provider,
    ) -> Accepted:
        now = await system_now(deps.clock)
        record, body = await _parse(request, RecordRequest, deps.policy, now)
        speaking_for_itself(principal, record.source_department)
        return await accept(
            record.payload(**submitted_by(principal)),
            topic=deps.topics.monitoring,
            household_id=None,
            occurred_at=record.recorded_at,
            recorded_at=now,
            event_id=event_id_for("records", idempotency_key, body),
            what="record",
            key=deps.pseudonyms.key(record.person_id),
            person_id=record.person_id,
            source=record.source_department.value,
        )


def create_app(deps: IntakeDeps) -> FastAPI:
    app = FastAPI(
        title="assist intake",
        version="1",
        description="One-stop intake: applications, home visits, records, signals.",
    )
    install_error_handlers(app)

    install_unavailable_handler(app)
    install_routes(app, deps)
    return app
