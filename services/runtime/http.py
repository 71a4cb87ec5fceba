"""HTTP parts every service shares: /healthz, /metrics, request metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.runtime import metrics
from services.runtime.processor import Processor

STALL_SECONDS = 30.0  # default; ServiceSettings.stall_seconds (ASSIST_STALL_SECONDS) moves it


def health_report(
    service: str, processors: Sequence[Processor], stall_seconds: float = STALL_SECONDS
) -> tuple[bool, dict[str, Any]]:
    """Ready when every processor runs, reaches the broker, has replayed its state, and is not
    stalled (input waiting with no progress for `stall_seconds`)."""
    report: dict[str, Any] = {"service": service, "stall_seconds": stall_seconds,
                              "processors": []}
    healthy = True
    for processor in processors:
        status = processor.status
        stalled = status.running and status.stalled(stall_seconds)
        ok = status.running and status.connected and status.caught_up and not stalled
        healthy = healthy and ok
        report["processors"].append(
            {
                "name": status.name,
                "inputs": list(status.inputs),
                "state": _state(status.running, status.connected, stalled, ok),
                "running": status.running,
                "connected": status.connected,
                "caught_up": status.caught_up,
                "stalled": stalled,
                "lag": status.total_lag,
                "lag_by_partition": dict(status.lag),
                "consumed": status.consumed,
                "produced": status.produced,
                "restarts": status.restarts,
                "last_progress_at": status.last_progress_at,
                "waiting_since": status.waiting_since,
                "lag_checked_at": status.lag_checked_at,
                "last_error": status.last_error,
            }
        )
    report["status"] = "ok" if healthy else "unavailable"
    return healthy, report


def _state(running: bool, connected: bool, stalled: bool, ok: bool) -> str:
    if not running:
        return "down"
    if not connected:
        return "disconnected"
    if stalled:
        return "stalled"
    return "running" if ok else "catching up"


def install_common_routes(
    app: FastAPI,
    service: str,
    processors: Callable[[], Sequence[Processor]],
    stall_seconds: float | None = None,
) -> None:
    """Add /healthz, /metrics and request metrics to a service's app.

    Without `stall_seconds`, the threshold is `app.state.stall_seconds`, which run_service sets
    from ServiceSettings, so composition roots need not pass settings along.
    """

    @app.get("/healthz", tags=["operations"], summary="Readiness of the service and its processors")
    async def healthz(request: Request) -> JSONResponse:
        threshold = stall_seconds if stall_seconds is not None else float(
            getattr(request.app.state, "stall_seconds", STALL_SECONDS))
        healthy, report = health_report(service, processors(), threshold)
        return JSONResponse(report, status_code=200 if healthy else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.HTTP_REQUESTS.labels(service, request.method, path, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(service, request.method, path).observe(
            time.perf_counter() - started
        )
        return response
