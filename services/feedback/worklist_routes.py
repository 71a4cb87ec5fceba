"""The worklist's routes: a department's pages, behind its token (log-in form, then a cookie).

A department sees only its own referrals: another's referral page is a 403 page, never its
data. An answer from the form goes through the API's own `Submission`, with the same refusals:
403 and 404 pages, 409 and 422 on the referral's page (the form keeping what was typed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from events.types import Department, Outcome
from services.feedback import answer_form, worklist_pages
from services.feedback.answer_form import FieldError, Typed
from services.feedback.ledger import Ledger, Referral, Refusal, Status
from services.feedback.submission import Submission
from services.runtime.auth import Principal, TokenStore
from services.runtime.web.page import HEADERS, html, not_found_page, refusal_page
from services.runtime.web.routes import (
    REFUSED_PAGES,
    PageGate,
    form_body,
    page_answer,
    redirect_answer,
)
from services.runtime.web.session import PageSessions, roles_admitted

COOKIE = "assist_department"
# Feedback has no settings of its own: a working day's session.
SESSION_SECONDS = 8 * 3600
TAG = "worklist"
SENT_NOTICE = "answer sent ({outcome}); it shows here once the chain has it"
_PAGES: dict[int | str, dict[str, Any]] = {
    **REFUSED_PAGES,
    503: page_answer("Still reading the chain: a page saying so, reloading itself"),
}
_REFERRAL_PAGES = _PAGES | {
    403: page_answer("Another department's referral, or a token that is not a department's"),
    404: page_answer("No such referral: a page saying so"),
}
_FORM_BODY = form_body((*answer_form.TYPED_FIELDS, answer_form.KEY_FIELD))


def worklist_gate(tokens: TokenStore) -> PageGate:
    """Departments only, each with its own token; the cookie opens feedback's pages alone."""
    sessions = PageSessions(
        tokens, roles_admitted("department"), "departments", COOKIE, SESSION_SECONDS
    )
    return PageGate(sessions, worklist_pages.TITLE, "Department token", home="/worklist")


def install_worklist(
    app: FastAPI,
    tokens: TokenStore,
    ledger: Callable[[], Ledger | None],
    now: Callable[[], datetime],
    submission: Submission,
) -> None:
    gate = worklist_gate(tokens)
    gate.install(app, TAG)

    def department_of(principal: Principal) -> Department:
        department = principal.department
        assert department is not None  # the gate admits department tokens only
        return department

    def own_referral(
        referral_id: str, principal: Principal
    ) -> tuple[Ledger, Referral] | HTMLResponse:
        """The ledger and this department's referral, or the page that says why not."""
        current = ledger()
        if current is None:
            return html(worklist_pages.still_reading_page(principal.user), 503)
        referral = current.referrals.get(referral_id)
        if referral is None:
            return html(not_found_page(f"unknown referral {referral_id!r}"), 404)
        if referral.department != department_of(principal):
            reason = f"referral {referral_id!r} is not your department's"
            return html(refusal_page(403, reason, gate.sessions.who), 403)
        return current, referral

    def show_referral(
        referral: Referral,
        principal: Principal,
        typed: Typed | None = None,
        errors: list[FieldError] | None = None,
        notice: str = "",
        problem: str = "",
        status: int = 200,
    ) -> HTMLResponse:
        path = worklist_pages.referral_path(referral.referral_id)
        form = answer_form.render(
            f"{path}/answer", typed or Typed(), errors or [], department_of(principal)
        )
        page = worklist_pages.referral_page(
            referral, now(), principal.user, form, notice=notice, problem=problem
        )
        return html(page, status)

    @app.get(
        "/worklist",
        response_class=HTMLResponse,
        tags=[TAG],
        summary="The department's referrals without a final answer, soonest due first",
        responses=_PAGES | {422: page_answer("An unknown status to filter by")},
    )
    async def worklist(request: Request, status: str | None = None) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        current = ledger()
        if current is None:
            return html(worklist_pages.still_reading_page(who.user), 503)
        department, moment = department_of(who), now()
        chosen, problem = None, ""
        if status:
            try:
                chosen = Status(status)
            except ValueError:
                known = ", ".join(s.value for s in Status)
                problem = f"status: {status!r} is not one of {known}"
        opened = current.worklist(department)
        overdue = sum(worklist_pages.is_overdue(r, moment) for r in opened)
        shown = opened if chosen is None else current.worklist(department, chosen)
        page = worklist_pages.worklist_page(
            department, shown, (len(opened), overdue), chosen, moment, who.user, problem
        )
        return html(page, 422 if problem else 200)

    @app.get(
        "/worklist/referrals/{referral_id}",
        response_class=HTMLResponse,
        tags=[TAG],
        summary="One of the department's referrals: what it was sent, its history, the answer",
        responses=_REFERRAL_PAGES,
    )
    async def referral_page(referral_id: str, request: Request, sent: str = "") -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        found = own_referral(referral_id, who)
        if isinstance(found, HTMLResponse):
            return found
        outcomes = {o.value for o in Outcome}
        notice = SENT_NOTICE.format(outcome=sent) if sent in outcomes else ""
        return show_referral(found[1], who, notice=notice)

    @app.post(
        "/worklist/referrals/{referral_id}/answer",
        tags=[TAG],
        summary="Answer a referral from its page, as POST /v1/referrals/{referral_id}/feedback",
        status_code=303,
        response_class=RedirectResponse,
        responses=_REFERRAL_PAGES
        | {
            303: redirect_answer("Sent: back to the referral's page, with a notice"),
            409: page_answer("Already answered: the referral's page saying why"),
            422: page_answer("Invalid: the referral's page, each error beside its field"),
        },
        openapi_extra=_FORM_BODY,
    )
    async def answer(referral_id: str, request: Request) -> Response:
        page = worklist_pages.referral_path(referral_id)
        verdict = gate.sessions.judge(request)
        if not verdict.allowed or verdict.principal is None:
            return gate.refused(verdict, page)  # after logging in: the page, not this POST
        who = verdict.principal
        found = own_referral(referral_id, who)
        if isinstance(found, HTMLResponse):
            return found
        current, referral = found
        raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        typed = Typed.from_form({name: values[0] for name, values in raw.items()})
        body = answer_form.read(typed)
        if isinstance(body, list):
            return show_referral(referral, who, typed, body, status=422)
        try:
            sent = await submission.submit(
                current,
                referral_id,
                body,
                department_of(who),
                who.user,
                typed.idempotency_key or None,
            )
        except Refusal as refusal:
            if refusal.field is not None:
                errors = [FieldError(refusal.field, refusal.reason)]
                return show_referral(referral, who, typed, errors, status=refusal.status_code)
            if refusal.status_code == 409:
                return show_referral(referral, who, typed, problem=refusal.reason, status=409)
            if refusal.status_code == 404:
                return html(not_found_page(refusal.reason), 404)
            return html(refusal_page(403, refusal.reason, gate.sessions.who), 403)
        target = f"{page}?sent={sent.outcome.value}"
        return RedirectResponse(target, status_code=303, headers=HEADERS)
