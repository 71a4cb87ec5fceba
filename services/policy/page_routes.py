"""The policy pages' routes: every version, and one version's impact, for policy makers and
auditors (the roles that read the impact API), behind the log-in form and a session cookie.

The impact page asks the same function as `GET /v1/policy/versions/{name}/impact`. A run over
many households takes seconds: the page waits a little for it, then shows how far it has got
and reloads itself; the run goes on meanwhile, and a reload joins it or finds its result kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from services.policy.impact_pages import impact_page, progress_page
from services.policy.reading import PolicyReader
from services.policy.settings import PolicyPageSettings
from services.policy.version_pages import versions_page, waiting_page
from services.policy.views import ImpactView
from services.runtime.auth import TokenStore
from services.runtime.web.page import html, not_found_page
from services.runtime.web.routes import REFUSED_PAGES, PageGate, page_answer
from services.runtime.web.session import PageSessions, roles_admitted

COOKIE = "assist_policy"
_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: page_answer(
        "Still reading the topics, or the clock is not known yet: a page that reloads itself"
    ),
}
_IMPACT_ANSWERS: dict[int | str, dict[str, Any]] = {
    **REFUSED_PAGES,
    **_NOT_READY,
    202: page_answer("The impact is being computed: its progress, on a page that reloads itself"),
    404: page_answer("No policy version of that name"),
}


def policy_gate(tokens: TokenStore, session_seconds: int) -> PageGate:
    """Policy makers and auditors, by the log-in form (or a bearer header)."""
    sessions = PageSessions(
        tokens,
        roles_admitted("policy", "auditor"),
        "policy makers and auditors",
        COOKIE,
        session_seconds,
    )
    return PageGate(sessions, "assist · policy", "Policy or auditor token", home="/versions")


def install_pages(
    app: FastAPI, tokens: TokenStore, reader: PolicyReader, settings: PolicyPageSettings
) -> None:
    gate = policy_gate(tokens, int(settings.session_hours * 3600))
    gate.install(app, "pages")

    def unanswered(refusal: HTTPException, user: str) -> HTMLResponse:
        """What the API would answer as an error (404, 503), as a page."""
        if refusal.status_code == 404:
            return html(not_found_page(str(refusal.detail)), 404)
        page = waiting_page(str(refusal.detail), settings.refresh_seconds, user)
        response = html(page, refusal.status_code)
        response.headers.update(refusal.headers or {})
        return response

    @app.get(
        "/versions",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="Every policy version and its status, with links to each one's impact",
        responses=REFUSED_PAGES | _NOT_READY,
    )
    async def versions(request: Request) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        try:
            listed = reader.versions()
        except HTTPException as refusal:
            return unanswered(refusal, who.user)
        return html(versions_page(listed, who.user))

    @app.get(
        "/versions/{policy_version}/impact",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="What a version would change over every open household, as tables and charts",
        responses=_IMPACT_ANSWERS,
    )
    async def impact(policy_version: str, request: Request) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        try:
            version = reader.version(policy_version)
            asked = reader.impact(policy_version, who.user)
            try:
                document = await asyncio.wait_for(asked, settings.wait_seconds)
            except TimeoutError:  # the run goes on without this request
                progress = reader.progress(policy_version)
                page = progress_page(version, progress, settings.refresh_seconds, who.user)
                return html(page, 202)
        except HTTPException as refusal:
            return unanswered(refusal, who.user)
        return html(impact_page(version, ImpactView.model_validate(document), who.user))
