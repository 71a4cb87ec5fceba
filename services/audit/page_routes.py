"""The auditor's household pages: routes, who may open them, and their refusals as pages.

Auditors only (a household's page shows what its events say; operators see integrity in the
API, never content). A browser logs in once with its auditor token through the log-in form and
then carries an HttpOnly cookie (services/runtime/web). Every page that shows a household reads
it through `HouseholdReads.answer`, the path the API's routes take, so the read is recorded on
`assist.audit.access` with the auditor's name and their token's fingerprint before the page is
sent. What the API answers in JSON (404, 409, 422, 503) a page answers with a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Annotated
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from events.audit import AccessKind, AnyTreeHead
from services.audit import household_pages as pages
from services.audit.household_reads import HouseholdReads, Reader
from services.audit.household_view import AsOf, HouseholdView, household_view, parse_as_of
from services.runtime.auth import TokenStore
from services.runtime.web.page import HEADERS, html
from services.runtime.web.routes import REFUSED_PAGES, PageGate, page_answer, redirect_answer
from services.runtime.web.session import PageSessions, roles_admitted

COOKIE = "assist_auditor"
# A household's id, as the API's path takes it (the key of its chain)
HOUSEHOLD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

# Declared without constraints: what FastAPI would refuse it would refuse in JSON, and a page
# answers a malformed value with a page (422, naming the field) of its own.
AsOfText = Annotated[
    str | None,
    Query(
        description="A date (YYYY-MM-DD: the state at the end of that day in the deployment's "
        "zone) or an ISO 8601 instant with its zone; empty or absent: the whole chain. "
        "Anything else is answered with a 422 page naming as_of.",
    ),
]

_HOUSEHOLD_PAGE_ANSWERS = {
    **REFUSED_PAGES,
    404: page_answer("No chain for this household: a page saying so"),
    409: page_answer("The log no longer holds a record the index points at: a page saying so"),
    422: page_answer("A malformed household id or as_of: a page naming the field"),
    503: page_answer("Still reading the chain, or the access could not be recorded"),
}


def auditor_gate(tokens: TokenStore, session_seconds: int) -> PageGate:
    """Auditors only, by bearer header or the log-in form's cookie."""
    sessions = PageSessions(tokens, roles_admitted("auditor"), "auditors", COOKIE, session_seconds)
    return PageGate(sessions, pages.TITLE, "Auditor token", home=pages.HOME)


@dataclass
class HouseholdPagesDeps:
    gate: PageGate
    reads: HouseholdReads
    latest_tree_head: Callable[[], AnyTreeHead | None]
    audit_key: Ed25519PublicKey  # verifies the tree heads this service signed
    zone: tzinfo  # a date given as as_of is a day of this zone


def install_household_pages(app: FastAPI, deps: HouseholdPagesDeps) -> None:
    gate = deps.gate
    gate.install(app, "pages")

    @app.get(
        "/households",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="Open a household's page by its id (a form)",
        responses={
            **REFUSED_PAGES,
            303: redirect_answer("To the household's page"),
            422: page_answer("A malformed household id: the form again, naming household_id"),
        },
    )
    async def open_household(
        request: Request,
        household_id: Annotated[str | None, Query(description="The household to open")] = None,
        as_of: AsOfText = None,
    ) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        if not household_id:
            return html(pages.open_page(who.user))
        if not HOUSEHOLD_ID.match(household_id):
            problem = "a household id is 1 to 64 letters, digits and _ . : - (not first)"
            return html(pages.open_page(who.user, household_id, problem), 422)
        target = f"{pages.HOME}/{quote(household_id, safe='')}"
        if as_of:
            target += "?" + urlencode({"as_of": as_of})
        return RedirectResponse(target, status_code=303, headers=HEADERS)

    @app.get(
        "/households/{household_id}",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="A household's page: its chain as a timeline, its verification against the "
        "latest tree head, its state as of a date and its happiness list (auditors only; "
        "recorded as a read of the chain)",
        responses=_HOUSEHOLD_PAGE_ANSWERS,
    )
    async def household(request: Request, household_id: str, as_of: AsOfText = None) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        if not HOUSEHOLD_ID.match(household_id):
            reason = "a household id is 1 to 64 letters, digits and _ . : - (not first)"
            return html(pages.problem_page(422, reason, who.user, "household_id"), 422)
        asked: AsOf | None = None
        if as_of:
            try:
                asked = parse_as_of(as_of, deps.zone)
            except ValueError as error:
                return html(pages.problem_page(422, str(error), who.user, "as_of"), 422)
        reader = Reader.of(who, gate.sessions.token_of(who))

        def view(values: list[bytes | None]) -> HouseholdView:
            index = deps.reads.indexer().index
            head = deps.latest_tree_head()
            return household_view(
                household_id, values, index, head, deps.audit_key, asked, deps.zone
            )

        try:
            shown = await deps.reads.answer(
                household_id,
                reader,
                AccessKind.CHAIN,
                view,
                asked.instant if asked else None,
            )
        except HTTPException as refused:
            page = pages.problem_page(refused.status_code, str(refused.detail), who.user)
            return html(page, refused.status_code)
        return html(pages.household_page(shown, who.user))
