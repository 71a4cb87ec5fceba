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

STALL_SECONDS = 30.0


def health_report(service: str, processors: Sequence[Processor]) -> tuple[bool, dict[str, Any]]:
    """Ready when every processor runs, has replayed its state, and is not stalled."""
    report: dict[str, Any] = {"service": service, "processors": []}
    healthy = True
    for processor in processors:
        status = processor.status
        stalled = status.stalled(STALL_SECONDS)
        ok = status.running and status.caught_up and not stalled
        healthy = healthy and ok
        report["processors"].append(
            {
                "name": status.name,
                "inputs": list(status.inputs),
                "state": "stalled" if stalled else "running" if ok else
                "catching up" if status.running else "down",
                "lag": status.total_lag,
                "lag_by_partition": dict(status.lag),
                "consumed": status.consumed,
                "produced": status.produced,
                "restarts": status.restarts,
                "last_progress_at": status.last_progress_at,
                "last_error": status.last_error,
            }
        )
    report["status"] = "ok" if healthy else "unavailable"
    return healthy, report


def install_common_routes(
    app: FastAPI, service: str, processors: Callable[[], Sequence[Processor]]
) -> None:
    """Add /healthz, /metrics and request metrics to a service's app."""

    @app.get("/healthz", tags=["operations"], summary="Readiness of the service and its processors")
    async def healthz() -> JSONResponse:
        healthy, report = health_report(service, processors())
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
