"""HTTP parts every service shares: /healthz, /metrics, request metrics, the body size limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime import metrics
from services.runtime.auth import TokenStore, bearer_principal
from services.runtime.limits import (
    HTTP_DISCARD_BYTES,
    HTTP_DISCARD_SECONDS,
    HTTP_MAX_BODY_BYTES,
)
from services.runtime.openapi import BEARER_TOKEN, document_answers, errors
from services.runtime.processor import Processor


class HealthReport(BaseModel):
    """/healthz: the status for everyone; the processors' details for operators only."""

    service: str
    status: Literal["ok", "unavailable"]
    stall_seconds: float | None = None
    processors: list[dict[str, Any]] | None = None
    # What, besides its processors, keeps the service from being ready (e.g. the audit's log
    # no longer extending what it signed)
    problems: list[str] | None = None


STALL_SECONDS = 30.0  # default; ServiceSettings.stall_seconds (ASSIST_STALL_SECONDS) moves it


def health_report(
    service: str,
    processors: Sequence[Processor],
    stall_seconds: float = STALL_SECONDS,
    problems: Sequence[str] = (),
) -> tuple[bool, dict[str, Any]]:
    """Ready when every processor runs, reaches the broker, has replayed its state, and is
    neither stalled (input waiting with no progress for `stall_seconds`), held (input behind a
    transaction that never ends) nor stuck (failing run after run on one message), and the
    service names no other `problems`."""
    report: dict[str, Any] = {
        "service": service,
        "stall_seconds": stall_seconds,
        "processors": [],
        "problems": list(problems),
    }
    healthy = not problems
    for processor in processors:
        status = processor.status
        stalled = status.running and status.stalled(stall_seconds)
        held = status.running and bool(status.held)
        stuck = status.stuck
        ok = (
            status.running
            and status.connected
            and status.caught_up
            and not (stalled or held or stuck is not None)
        )
        healthy = healthy and ok
        report["processors"].append(
            {
                "name": status.name,
                "inputs": list(status.inputs),
                "state": "stuck"
                if stuck is not None
                else _state(status.running, status.connected, stalled, held, ok),
                "running": status.running,
                "connected": status.connected,
                "caught_up": status.caught_up,
                "stalled": stalled,
                "held_partitions": dict(status.held),
                "lag": status.total_lag,
                "lag_by_partition": dict(status.lag),
                "consumed": status.consumed,
                "produced": status.produced,
                "restarts": status.restarts,
                # Scaled out: the tasks (of task_count) and input partitions this instance
                # holds now, and how often they changed.
                "instance": processor.config.scale_out.instance
                if processor.config.scale_out is not None
                else None,
                "tasks": status.tasks,
                "task_count": status.task_count,
                "partitions": list(status.partitions),
                "rebalances": status.rebalances,
                "replayed": status.replayed,
                "restored_partitions": status.restored_partitions,
                "last_progress_at": status.last_progress_at,
                "waiting_since": status.waiting_since,
                "lag_checked_at": status.lag_checked_at,
                "last_error": status.last_error,
                # "stuck at topic/partition@offset: reason", and the same as fields
                "stuck": stuck.describe() if stuck is not None else None,
                "stuck_at": stuck.as_document() if stuck is not None else None,
            }
        )
    report["status"] = "ok" if healthy else "unavailable"
    return healthy, report


def _state(running: bool, connected: bool, stalled: bool, held: bool, ok: bool) -> str:
    if not running:
        return "down"
    if not connected:
        return "disconnected"
    if stalled:
        return "stalled"
    if held:
        return "held"  # input behind a transaction that never ends: see ProcessorStatus.held
    return "running" if ok else "catching up"


def _operator_access(request: Request) -> HTTPException | None:
    """None when the request may see operators' details: it carries an operator token, or the
    service runs without tokens (a test or a sandbox); else the 401/403 it deserves."""
    tokens = getattr(request.app.state, "tokens", None)
    if not isinstance(tokens, TokenStore):
        return None
    principal = bearer_principal(tokens, request)
    if principal is None:
        return HTTPException(
            401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    if principal.role != "operator":
        return HTTPException(403, f"role {principal.role!r} may not do this; needs 'operator'")
    return None


def install_common_routes(
    app: FastAPI,
    service: str,
    processors: Callable[[], Sequence[Processor]],
    stall_seconds: float | None = None,
    problems: Callable[[], Sequence[str]] = lambda: (),
) -> None:
    """Add /healthz, /metrics and request metrics to a service's app.

    Without `stall_seconds`, the threshold is `app.state.stall_seconds`, which run_service sets
    from ServiceSettings, so composition roots need not pass settings along. `problems` names
    what else keeps the service from being ready (none by default).
    """

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Readiness of the service and its processors",
        description="The status code (200 ready, 503 not) is for every probe; the report of "
        "each processor (state, lag, errors) needs an operator token.",
        responses={
            200: {"model": HealthReport, "description": "Ready"},
            503: {"model": HealthReport, "description": "Not ready: the report says why"},
        },
    )
    async def healthz(request: Request) -> JSONResponse:
        threshold = (
            stall_seconds
            if stall_seconds is not None
            else float(getattr(request.app.state, "stall_seconds", STALL_SECONDS))
        )
        healthy, report = health_report(service, processors(), threshold, problems())
        if _operator_access(request) is not None:
            report = {"service": report["service"], "status": report["status"]}
        return JSONResponse(report, status_code=200 if healthy else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (operator token)",
        response_class=PlainTextResponse,
        openapi_extra=BEARER_TOKEN,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **errors(401, 403, s403="Only an operator's token reads the metrics"),
        },
    )
    async def prometheus_metrics(request: Request) -> Response:
        refusal = _operator_access(request)
        if refusal is not None:
            raise refusal
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    document_answers(app)
    # Added first, so that RequestMetrics (added last, so outermost) counts its 413s too.
    app.add_middleware(BodySizeLimit, limit=HTTP_MAX_BODY_BYTES)
    app.add_middleware(RequestMetrics, service=service)


class BodyTooLarge(Exception):  # noqa: N818 - the verdict on a request, not a program error
    """Raised from `receive` once a request body goes past the limit, to stop whoever reads it."""


class BodySizeLimit:
    """Refuses a request body over `limit` bytes with 413; the app never gets more than `limit`.

    A declared Content-Length over the limit is refused before the app sees the request; a body
    without one (chunked) is counted as it streams, and the read that passes the limit raises
    `BodyTooLarge` into the app. Whatever answer the app then makes of that (FastAPI turns a
    failed body read into a 400) is dropped and the 413 sent instead, so every service answers
    the same way whatever its routes do. Before answering, the rest of the body is read and
    thrown away, up to HTTP_DISCARD_BYTES and HTTP_DISCARD_SECONDS (limits.py), so that the
    client gets to read the answer; then the connection is closed.
    """

    def __init__(self, app: ASGIApp, limit: int = HTTP_MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            if declared <= self.limit + HTTP_DISCARD_BYTES:
                await _discard(receive, HTTP_DISCARD_BYTES)
            await self._refuse(send)
            return
        received = 0
        refused = answered = False

        async def receiving() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    raise BodyTooLarge(f"request body over {self.limit} bytes")
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            if refused and not answered:
                return  # the app's answer to a body it could not read: ours goes instead
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except Exception:
            if not refused:
                raise
        if refused and not answered:
            await _discard(receive, HTTP_DISCARD_BYTES)
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": "request body too large",
                "detail": f"request body over {self.limit} bytes",
                "limit_bytes": self.limit,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the body is not read: the connection cannot carry another.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _discard(receive: Receive, budget: int) -> None:
    """Read and drop what is left of a refused body, up to `budget` bytes and a few seconds."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(HTTP_DISCARD_SECONDS):
            while budget >= 0:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                budget -= len(message.get("body", b""))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None  # malformed: the server refuses it
    return None


class RequestMetrics:
    """Counts and times every HTTP request, by route and status.

    Plain ASGI on purpose: `@app.middleware("http")` (BaseHTTPMiddleware) wraps each request in
    extra tasks and streams, which cost intake about 0.4 ms of CPU per request (make bench).
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router has put the matched route into the scope by now.
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            metrics.HTTP_SECONDS.labels(self.service, method, path).observe(
                time.perf_counter() - started
            )
