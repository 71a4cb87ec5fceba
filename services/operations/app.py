"""The console's HTTP routes: the page, a dead letter's page, login, and the same data as JSON.

Every answer passes `mask_identity_numbers` on its way out: whatever a dead letter or an error
message carried, no resident identity number leaves the console in clear.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.operations import pages
from services.operations.deadletters import DeadLetterLog, describe
from services.operations.overview import Overview
from services.operations.trends import Trends
from services.runtime.auth import TokenStore
from services.runtime.logging import mask_identity_numbers
from services.runtime.openapi import errors
from services.runtime.web.page import HEADERS, html
from services.runtime.web.routes import REFUSED_PAGES, PageGate, redirect_answer
from services.runtime.web.session import PageSessions, roles_admitted

COOKIE = "assist_console"


@dataclass
class ConsoleDeps:
    gate: PageGate
    overview: Callable[[], Overview]
    dead_letters: Callable[[], DeadLetterLog | None]
    refresh_seconds: int
    trends: Callable[[], Trends] = Trends


def console_gate(tokens: TokenStore, session_seconds: int) -> PageGate:
    """Operators only, by bearer header, log-in form or a `?token=` link."""
    sessions = PageSessions(
        tokens, roles_admitted("operator"), "operators", COOKIE, session_seconds
    )
    return PageGate(sessions, "assist · operations", "Operator token", home="/")


# Its JSON answers a refusal in JSON, as every service does.
_REFUSED_JSON = errors(401, 403)
_NO_LETTER = errors(
    404,
    503,
    s404="No dead letter with that id",
    s503="Still reading the dead-letter topic",
)


def as_json(document: Any, status: int = 200) -> Response:
    text = mask_identity_numbers(json.dumps(document, ensure_ascii=False, default=str))
    return Response(
        text,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def install_console(app: FastAPI, deps: ConsoleDeps) -> None:
    gate = deps.gate
    gate.install(app, "console")

    def api_check(request: Request) -> None:
        verdict = gate.sessions.judge(request)
        if not verdict.allowed:
            headers = {"WWW-Authenticate": "Bearer"} if verdict.status == 401 else None
            raise HTTPException(verdict.status, verdict.reason, headers=headers)

    @app.get(
        "/",
        response_class=HTMLResponse,
        tags=["console"],
        summary="The operator console",
        responses={
            **REFUSED_PAGES,
            303: redirect_answer("A token in the link, traded for a cookie"),
        },
    )
    async def console(request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None:  # a link with the token: trade it for a cookie, drop it from the URL
            verdict = gate.sessions.judge_token(token)
            if not verdict.allowed or verdict.principal is None:
                return gate.refused(verdict)
            rest = {k: v for k, v in request.query_params.items() if k != "token"}
            target = "/" + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303, headers=HEADERS)
            gate.sessions.open_session(response, request, verdict.principal)
            return response
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        trends = deps.trends().lines(time.time())
        return html(pages.console_page(deps.overview(), deps.refresh_seconds, who.user, trends))

    @app.get(
        "/deadletters/{dead_letter_id}",
        response_class=HTMLResponse,
        tags=["console"],
        summary="One dead letter: where it came from, why it failed, its original bytes",
        responses=REFUSED_PAGES | _NO_LETTER,
    )
    async def dead_letter(dead_letter_id: str, request: Request) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        return html(pages.dead_letter_page(_find(deps, dead_letter_id), who.user))

    @app.get(
        "/v1/overview",
        tags=["console"],
        summary="What the console shows, as JSON",
        responses=_REFUSED_JSON,
    )
    async def overview_json(request: Request) -> Response:
        api_check(request)
        return as_json(deps.overview().as_document())

    @app.get(
        "/v1/trends",
        tags=["console"],
        summary="The last hour's throughput, lag and dead letters, one point per minute",
        responses=_REFUSED_JSON,
    )
    async def trends_json(request: Request) -> Response:
        api_check(request)
        return as_json(deps.trends().as_document(time.time()))

    @app.get(
        "/v1/deadletters/{dead_letter_id}",
        tags=["console"],
        summary="One dead letter, as JSON (resident identity numbers masked)",
        responses=_REFUSED_JSON | _NO_LETTER,
    )
    async def dead_letter_json(dead_letter_id: str, request: Request) -> Response:
        api_check(request)
        return as_json(_find(deps, dead_letter_id))


def _find(deps: ConsoleDeps, dead_letter_id: str) -> dict[str, Any]:
    letters = deps.dead_letters()
    if letters is None:
        raise HTTPException(503, "still reading the dead-letter topic; try again shortly")
    try:
        return describe(letters.find(dead_letter_id))
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
