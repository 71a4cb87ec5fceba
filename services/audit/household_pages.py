"""The auditor's household pages as HTML: view models in, a document out.

Server-rendered with the shared page chrome (services/runtime/web/page.py): no script, nothing
loaded, tables that scroll inside their box on a narrow screen, every control reachable with
the keyboard. Every value is escaped here; resident identity numbers are masked on the way out
(`page.html`), so these functions may be given any text.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from services.audit.chain_sections import link_to, timeline_section, verification_section, when
from services.audit.domain.timeline import key_numbers
from services.audit.household_view import HouseholdView
from services.audit.views import ReferralView, StateView
from services.runtime.web.page import document, header

TITLE = "assist · audit"
HOME = "/households"
NAV = (("open a household", HOME),)


def _open_form(value: str = "", problem: str = "") -> str:
    invalid = ' aria-invalid="true" aria-describedby="household_id-error"' if problem else ""
    error = (
        f'<span class="field-error" id="household_id-error">{escape(problem)}</span>'
        if problem
        else ""
    )
    return (
        f'<form class="card" method="get" action="{HOME}" id="open-household">'
        '<label for="household_id">Household id</label>'
        f'<input id="household_id" name="household_id" value="{escape(value)}" required '
        f'maxlength="64" autocomplete="off"{invalid}>{error}'
        '<button class="primary" type="submit">open</button></form>'
    )


def open_page(user: str, value: str = "", problem: str = "") -> str:
    """The form that opens a household's page by its id."""
    body = (
        header(TITLE, "an auditor's view of one household", user, NAV)
        + '<main id="main"><h2>Open a household</h2>'
        + _open_form(value, problem)
        + '<p class="muted">Every opening of a household is recorded (who, which household, '
        "when) on the audit's access log, as every read through the API is.</p></main>"
    )
    return document("assist audit: open a household", body)


def problem_page(status: int, reason: str, user: str, field: str | None = None) -> str:
    """A household that cannot be shown: unknown (404), a request to correct (422, naming the
    field), or the service not able to answer now (409, 503)."""
    titles = {404: "not found", 409: "index out of date", 422: "invalid request"}
    title = titles.get(status, "not available")
    named = f' data-field="{escape(field)}"' if field else ""
    where = f"<p>Field <code>{escape(field)}</code>: {escape(reason)}</p>" if field else ""
    body = (
        header(TITLE, escape(f"{status}: {title}"), user, NAV)
        + f'<main id="main"><h2>{status}: {escape(title)}</h2>'
        + f'<p id="reason" role="alert"{named}>{escape(reason)}</p>{where}'
        + "<h3>Open a household</h3>"
        + _open_form()
        + "</main>"
    )
    return document(f"assist audit: {title}", body)


def household_page(view: HouseholdView, user: str) -> str:
    integrity = view.integrity
    verdict = "chain valid" if integrity.valid else "NOT valid"
    summary = f"household {view.household_id} · {len(view.entries)} events · {verdict}" + (
        f" · state as of {view.as_of.describe(view.zone)}" if view.as_of else ""
    )
    body = (
        header(TITLE, escape(summary), user, NAV)
        + f'<main id="main"><h2>Household {escape(view.household_id)}</h2>'
        + _as_of_form(view)
        + verification_section(view)
        + _state(view)
        + _happiness(view)
        + timeline_section(view)
        + "</main>"
    )
    return document(f"assist audit: {view.household_id}", body)


def _path(view: HouseholdView) -> str:
    return f"{HOME}/{quote(view.household_id, safe='')}"


def _as_of_form(view: HouseholdView) -> str:
    day = view.as_of.day.isoformat() if view.as_of else ""
    latest = f' <a href="{escape(_path(view))}">back to the whole chain</a>' if view.as_of else ""
    return (
        f'<form class="card" method="get" action="{escape(_path(view))}" id="as-of-form">'
        '<label for="as_of">State as of</label>'
        f'<input type="date" name="as_of" id="as_of" value="{escape(day)}" '
        'aria-describedby="as_of-help">'
        f'<button class="primary" type="submit">show the state on that date</button>{latest}'
        '<p class="muted" id="as_of-help">A date means the end of that day '
        f"({escape(str(view.zone))}); empty, the whole chain as it stands. The address also "
        "takes an instant with its "
        "zone: <code>?as_of=2026-12-01T10:00:00+08:00</code>.</p></form>"
    )


def _state(view: HouseholdView) -> str:
    state = view.state
    as_of = view.as_of
    heading = f"State as of {escape(as_of.describe(view.zone))}" if as_of else "State now"
    attributes = (
        f'id="state" data-as-of="{escape(as_of.instant.isoformat()) if as_of else ""}" '
        f'data-tier="{escape(state.tier or "")}" data-sequence="{state.sequence}"'
    )
    if state.sequence == 0:
        first = view.first_recorded_at
        return (
            f"<section {attributes}><h2>{heading}</h2>"
            '<p class="notice" id="no-state">No state yet on that date: nothing of this '
            "household was recorded by then (its first event was recorded "
            f"{when(first, view.zone)}).</p></section>"
        )
    classification = state.classification
    rows = [
        ("tier", f'<span id="tier">{escape(state.tier or "not classified yet")}</span>'),
        ("tags", escape(", ".join(state.tags) or "none")),
        ("policy version", escape(state.policy_version or "–")),
        ("region", escape(state.region_code or "–")),
        ("settled", "yes: every referral has a final answer" if state.settled else "no"),
    ]
    if classification is not None:
        rows.append(
            (
                "decided by",
                f"{escape(classification.decided_by)} "
                f"({escape(key_numbers(classification.numbers))}), "
                f"in {link_to(view, classification.sequence)}",
            )
        )
        if classification.next_rescreening_on:
            rows.append(
                (
                    "next date that matters",
                    escape(
                        f"{classification.next_rescreening_on} "
                        f"({classification.next_rescreening_reason})"
                    ),
                )
            )
    if state.closed is not None:
        rows.append(("closed", escape(f"on {state.closed.on}: {state.closed.reason}")))
    if state.unreadable_sequence is not None:
        rows.append(
            (
                "folded up to",
                f"an unreadable event at {state.unreadable_sequence}: "
                f"{escape(state.unreadable_reason or '')}",
            )
        )
    listing = "".join(f"<dt>{escape(name)}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        f"<section {attributes}><h2>{heading}</h2>"
        f"<p>Folded from the chain up to {link_to(view, state.sequence)} (recorded "
        f"{when(state.recorded_at, view.zone)}): the fold of <code>GET /v1/households/"
        f"{escape(view.household_id)}/state</code>.</p><dl>{listing}</dl>"
        + _referrals(view, state)
        + "</section>"
    )


def _referrals(view: HouseholdView, state: StateView) -> str:
    if not state.referrals:
        return '<h3>Referrals</h3><p class="muted">none issued by then</p>'

    def late(referral: ReferralView) -> str:
        if not referral.overdue:
            return ""
        return (
            ' <span class="late">overdue</span>' if referral.status == "open" else " (was overdue)"
        )

    rows = "".join(
        f'<tr class="referral" data-referral-id="{escape(r.referral_id)}" '
        f'data-status="{escape(r.status)}"><td>{escape(r.referral_id)}</td>'
        f"<td>{escape(r.program)}</td><td>{escape(r.department)}</td>"
        f"<td>{escape(r.status)}{late(r)}</td>"
        f"<td>{link_to(view, r.issued_sequence)}</td><td>{when(r.due_at, view.zone)}</td>"
        f"<td>{link_to(view, r.answered_sequence)}</td><td>{escape(r.reason or '')}</td></tr>"
        for r in state.referrals
    )
    return (
        '<h3>Referrals</h3><div class="scroll"><table id="referrals"><thead><tr>'
        "<th>referral</th><th>program</th><th>department</th><th>status</th><th>issued</th>"
        f"<th>due</th><th>answered</th><th>detail</th></tr></thead><tbody>{rows}</tbody>"
        "</table></div>"
    )


def _happiness(view: HouseholdView) -> str:
    delivered = view.state.delivered
    rows = "".join(
        f'<tr class="delivered" data-referral-id="{escape(d.referral_id)}" '
        f'data-program="{escape(d.program)}"><td>{escape(d.program)}</td>'
        f"<td>{escape(d.department)}</td>"
        f'<td class="n">{escape(str(d.cash_amount)) if d.cash_amount is not None else "–"}</td>'
        f"<td>{escape(d.service or '–')}</td><td>{when(d.delivered_at, view.zone)}</td>"
        f"<td>{link_to(view, d.sequence)}</td><td>{escape(d.note or '')}</td></tr>"
        for d in delivered
    )
    if not rows:
        rows = '<tr class="none"><td colspan="7" class="muted">nothing delivered by then</td></tr>'
    return (
        '<section id="happiness-list"><h2>Happiness list: what the departments delivered</h2>'
        '<div class="scroll"><table id="happiness"><thead><tr><th>program</th>'
        '<th>department</th><th class="n">cash</th><th>service</th><th>delivered</th>'
        f"<th>event</th><th>note</th></tr></thead><tbody>{rows}</tbody></table></div></section>"
    )
