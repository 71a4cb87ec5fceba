"""The log-in and log-out routes every service with pages has, and the guard of a page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.runtime.auth import Principal
from services.runtime.web.page import HEADERS, html, login_page, refusal_page
from services.runtime.web.session import PageSessions, Verdict


def page_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def redirect_answer(description: str) -> dict[str, Any]:
    return {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}


def form_body(fields: Iterable[str], required: Sequence[str] = ()) -> dict[str, Any]:
    """The OpenAPI of a form a page posts: text fields, url-encoded."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in fields},
    }
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


# A page answers a refusal with a page: the log-in form (401) or why not (403).
REFUSED_PAGES: dict[int | str, dict[str, Any]] = {
    401: page_answer("No valid session or token: the log-in form"),
    403: page_answer("The token's role may not open this page: a page saying so"),
}


class PageGate:
    """Log-in routes and the check at the door of every page of one service."""

    def __init__(self, sessions: PageSessions, title: str, token_label: str, home: str) -> None:
        self.sessions = sessions
        self.title = title
        self.token_label = token_label
        self.home = home

    def refused(self, verdict: Verdict, next_path: str = "") -> HTMLResponse:
        if verdict.status == 401:
            return html(login_page(self.title, self.token_label, verdict.reason, next_path), 401)
        return html(refusal_page(verdict.status, verdict.reason, self.sessions.who), verdict.status)

    def enter(self, request: Request) -> Principal | HTMLResponse:
        """The principal looking at this page, or the page that refuses them."""
        verdict = self.sessions.judge(request)
        if verdict.allowed and verdict.principal is not None:
            return verdict.principal
        asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.refused(verdict, _local(asked))

    def install(self, app: FastAPI, tag: str) -> None:
        gate = self

        if self.home != "/":

            @app.get(
                "/",
                tags=[tag],
                summary="To the pages' home",
                status_code=303,
                response_class=RedirectResponse,
                responses={**REFUSED_PAGES, 303: redirect_answer("To the pages' home")},
            )
            async def home(request: Request) -> Response:
                who = gate.enter(request)
                if isinstance(who, HTMLResponse):
                    return who
                return RedirectResponse(gate.home, status_code=303, headers=HEADERS)

        @app.get("/login", response_class=HTMLResponse, tags=[tag], summary="Log-in form")
        async def login_form(next: str = "") -> Response:  # noqa: A002 - the form's field
            return html(login_page(gate.title, gate.token_label, next_path=_local(next)))

        @app.post(
            "/login",
            tags=[tag],
            summary="Trade a token for a session cookie",
            status_code=303,
            response_class=RedirectResponse,
            responses={**REFUSED_PAGES, 303: redirect_answer("Logged in: to the pages")},
            openapi_extra=form_body(("token", "next"), required=("token",)),
        )
        async def login(request: Request) -> Response:
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            verdict = gate.sessions.judge_token((form.get("token") or [""])[0])
            if not verdict.allowed or verdict.principal is None:
                return gate.refused(verdict)
            target = _local((form.get("next") or [""])[0]) or gate.home
            response = RedirectResponse(target, status_code=303, headers=HEADERS)
            gate.sessions.open_session(response, request, verdict.principal)
            return response

        @app.post(
            "/logout",
            tags=[tag],
            summary="End the session",
            status_code=303,
            response_class=RedirectResponse,
            responses={303: redirect_answer("Logged out: to the log-in form")},
        )
        async def logout() -> Response:
            response = RedirectResponse("/login", status_code=303, headers=HEADERS)
            gate.sessions.close_session(response)
            return response


def _local(path: str) -> str:
    """Only a path on this service: a log-in never sends the browser elsewhere."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or path == "/login":
        return ""
    return path
