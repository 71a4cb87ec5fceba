"""The console's HTTP routes: the page, a dead letter's page, login, and the same data as JSON.

Every answer passes `mask_identity_numbers` on its way out: whatever a dead letter or an error
message carried, no resident identity number leaves the console in clear.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.operations import pages
from services.operations.deadletters import DeadLetterLog, describe
from services.operations.overview import Overview
from services.operations.session import ConsoleAuth, Verdict
from services.runtime.logging import mask_identity_numbers
from services.runtime.openapi import errors

# The page holds no script and loads nothing: the browser is told so.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class ConsoleDeps:
    auth: ConsoleAuth
    overview: Callable[[], Overview]
    dead_letters: Callable[[], DeadLetterLog | None]
    refresh_seconds: int


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}


# The console's pages answer a refusal with a page: the log-in form (401) or why not (403).
_REFUSED_PAGES: dict[int | str, dict[str, Any]] = {
    401: _page("No valid session or token: the log-in form"),
    403: _page("The token is not an operator's: a page saying so"),
}
# Its JSON answers a refusal in JSON, as every service does.
_REFUSED_JSON = errors(401, 403)
_NO_LETTER = errors(
    404,
    503,
    s404="No dead letter with that id",
    s503="Still reading the dead-letter topic",
)


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(mask_identity_numbers(body), status_code=status, headers=_HEADERS)


def as_json(document: Any, status: int = 200) -> Response:
    text = mask_identity_numbers(json.dumps(document, ensure_ascii=False, default=str))
    return Response(
        text,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def install_console(app: FastAPI, deps: ConsoleDeps) -> None:
    auth = deps.auth

    def refused_page(verdict: Verdict) -> HTMLResponse:
        if verdict.status == 401:
            return html(pages.login_page(verdict.reason), 401)
        return html(pages.refusal_page(verdict.status, verdict.reason), verdict.status)

    def api_check(request: Request) -> None:
        verdict = auth.judge(request)
        if not verdict.allowed:
            headers = {"WWW-Authenticate": "Bearer"} if verdict.status == 401 else None
            raise HTTPException(verdict.status, verdict.reason, headers=headers)

    @app.get(
        "/",
        response_class=HTMLResponse,
        tags=["console"],
        summary="The operator console",
        responses={**_REFUSED_PAGES, 303: _redirect("A token in the link, traded for a cookie")},
    )
    async def console(request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None:  # a link with the token: trade it for a cookie, drop it from the URL
            verdict = auth.judge_token(token)
            if not verdict.allowed:
                return refused_page(verdict)
            rest = {k: v for k, v in request.query_params.items() if k != "token"}
            target = "/" + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303, headers=_HEADERS)
            auth.open_session(response, request)
            return response
        verdict = auth.judge(request)
        if not verdict.allowed:
            return refused_page(verdict)
        return html(pages.console_page(deps.overview(), deps.refresh_seconds))

    @app.get("/login", response_class=HTMLResponse, tags=["console"], summary="Log-in form")
    async def login_form() -> Response:
        return html(pages.login_page())

    @app.post(
        "/login",
        tags=["console"],
        summary="Trade an operator token for a session cookie",
        status_code=303,
        response_class=RedirectResponse,
        responses={**_REFUSED_PAGES, 303: _redirect("Logged in: to the console")},
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"token": {"type": "string"}},
                            "required": ["token"],
                        }
                    }
                }
            }
        },
    )
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        verdict = auth.judge_token((form.get("token") or [""])[0])
        if not verdict.allowed:
            return refused_page(verdict)
        response = RedirectResponse("/", status_code=303, headers=_HEADERS)
        auth.open_session(response, request)
        return response

    @app.post(
        "/logout",
        tags=["console"],
        summary="End the console session",
        status_code=303,
        response_class=RedirectResponse,
        responses={303: _redirect("Logged out: to the log-in form")},
    )
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303, headers=_HEADERS)
        auth.close_session(response)
        return response

    @app.get(
        "/deadletters/{dead_letter_id}",
        response_class=HTMLResponse,
        tags=["console"],
        summary="One dead letter: where it came from, why it failed, its original bytes",
        responses=_REFUSED_PAGES | _NO_LETTER,
    )
    async def dead_letter(dead_letter_id: str, request: Request) -> Response:
        verdict = auth.judge(request)
        if not verdict.allowed:
            return refused_page(verdict)
        return html(pages.dead_letter_page(_find(deps, dead_letter_id)))

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
