"""A department's worklist, as HTML: its open referrals, and one referral's page.

Pure rendering: data in, HTML out, every value escaped. A member is shown by name and masked
resident id with the facts the department was sent, never more (case_file.py); `html()` masks
any resident id on the way out as well. No script: filters are links, answers a form.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import quote

from events.identity import mask_resident_id
from events.types import Department
from services.feedback.case_file import Disclosed, Step
from services.feedback.ledger import Referral, Status
from services.runtime.web.page import document, header

TITLE = "assist · department worklist"
NAV = (("worklist", "/worklist"),)
# The filters a department has: the open referrals (the default), or one status.
FILTERS: tuple[tuple[str, Status | None], ...] = (
    ("without a final answer", None),
    *((status.value, status) for status in Status),
)
_STYLE = (
    "<style>form.card label.choice{font-weight:400}label.choice input{width:auto;margin-right:6px}"
    "tr.referral[data-overdue=true] td:first-child{border-left:4px solid #8c1d1d}"
    "nav.filters a{margin-right:10px}nav.filters a[aria-current]{font-weight:700}</style>"
)


def referral_path(referral_id: str) -> str:
    return f"/worklist/referrals/{quote(referral_id, safe='')}"


def is_overdue(referral: Referral, now: datetime) -> bool:
    """Without a final answer past its due date, by the system's clock."""
    return not referral.final and (referral.overdue or referral.due_at < now)


def time_left(referral: Referral, now: datetime) -> str:
    if referral.final:
        return f"answered ({referral.status.value})"
    left = referral.due_at - now
    if left >= timedelta(0):
        return "due within a day" if left.days == 0 else f"{_days(left.days)} left"
    late = (-left).days
    return "overdue by less than a day" if late == 0 else f"{_days(late)} overdue"


def worklist_page(
    department: Department,
    referrals: Sequence[Referral],
    counts: tuple[int, int],
    chosen: Status | None,
    now: datetime,
    user: str,
    problem: str = "",
) -> str:
    """The referrals chosen (soonest due first), the counts of open and overdue above them."""
    opened, overdue = counts
    summary = (
        f'<span id="counts" data-open="{opened}" data-overdue="{overdue}">'
        f"{escape(department.value)}: {opened} open · "
        f'<span class="{"late" if overdue else ""}">{overdue} overdue</span></span>'
    )
    # Spaces between the links: on a narrow screen they wrap.
    filters = " ".join(_filter(label, status, status is chosen) for label, status in FILTERS)
    alert = f'<p class="alert" role="alert">{escape(problem)}</p>' if problem else ""
    rows = "".join(_row(r, now) for r in referrals)
    shown = "without a final answer" if chosen is None else chosen.value
    table = (
        # What matters most first: a narrow screen shows it before the table scrolls.
        '<div class="scroll"><table id="worklist"><thead><tr><th>referral</th><th>time left</th>'
        "<th>program</th><th>household</th><th>status</th><th>issued</th><th>due</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        if referrals
        else '<p class="muted" id="empty">No referral here.</p>'
    )
    body = (
        header(TITLE, summary, user, NAV)
        + f'<main id="main">{_STYLE}{alert}<h2>Referrals {escape(shown)}</h2>'
        f'<nav class="filters" aria-label="filter by status">{filters}</nav>{table}'
        f'<p class="muted">Soonest due first. Times by the system\'s clock: {_when(now)}.</p>'
        "</main>"
    )
    return document(f"worklist: {department.value}", body)


def _filter(label: str, status: Status | None, current: bool) -> str:
    href = f"/worklist?status={status.value}" if status is not None else "/worklist"
    marked = ' aria-current="page"' if current else ""
    return f'<a href="{href}"{marked}>{escape(label)}</a>'


def _row(referral: Referral, now: datetime) -> str:
    late = is_overdue(referral, now)
    mark = '<span class="state bad">overdue</span> ' if late else ""
    return (
        f'<tr class="referral" data-referral-id="{escape(referral.referral_id)}" '
        f'data-due="{escape(referral.due_at.isoformat())}" data-overdue="{str(late).lower()}" '
        f'data-status="{escape(referral.status.value)}">'
        f'<td><a href="{escape(referral_path(referral.referral_id))}">'
        f"{escape(referral.referral_id)}</a></td>"
        f'<td class="{"late" if late else ""}">{mark}{escape(time_left(referral, now))}</td>'
        f"<td>{escape(referral.program.value)}</td><td>{escape(referral.household_id)}</td>"
        f"<td>{escape(referral.status.value)}</td><td>{_when(referral.issued_at)}</td>"
        f"<td>{_when(referral.due_at)}</td></tr>"
    )


def referral_page(
    referral: Referral,
    now: datetime,
    user: str,
    answer_form: str,
    notice: str = "",
    problem: str = "",
) -> str:
    """What the department was sent, what happened since, and the form to answer it with."""
    late = is_overdue(referral, now)
    facts = {
        "program": escape(referral.program.value),
        "department": escape(referral.department.value),
        "household": escape(referral.household_id),
        "status": escape(referral.status.value)
        + (' <span class="state bad" id="overdue-mark">overdue</span>' if late else ""),
        "issued": _when(referral.issued_at),
        "due": f"{_when(referral.due_at)} ({escape(time_left(referral, now))})",
    }
    if referral.transferred_from:
        facts["transferred from"] = escape(referral.transferred_from)
    listing = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts.items())
    told = f'<p class="notice" role="status" id="notice">{escape(notice)}</p>' if notice else ""
    alert = f'<p class="alert" role="alert" id="problem">{escape(problem)}</p>' if problem else ""
    answer = (
        f'<p id="final">It has a final answer ({escape(referral.status.value)}): no other '
        "answer is taken.</p>"
        if referral.final
        else answer_form
    )
    body = (
        header(
            TITLE, f"{escape(referral.program.value)} · {escape(referral.status.value)}", user, NAV
        )
        + f'<main id="main">{_STYLE}{told}{alert}'
        f'<h2>Referral {escape(referral.referral_id)}</h2><dl id="referral" '
        f'data-referral-id="{escape(referral.referral_id)}" '
        f'data-overdue="{str(late).lower()}">{listing}</dl>'
        + _disclosed(referral.disclosed, referral.final)
        + _history(referral.history, referral.refusals_not_kept)
        + f'<section id="answer"><h2>Answer</h2>{answer}</section></main>'
    )
    return document(f"referral {referral.referral_id}", body)


def _disclosed(disclosed: Disclosed | None, final: bool) -> str:
    if disclosed is None:
        why = (
            "Not kept here once a referral has a final answer: your department's topic keeps "
            "the referral as it was sent."
            if final
            else "Nothing but the referral itself."
        )
        return (
            '<section id="facts"><h2>What your department was sent</h2>'
            f'<p class="muted">{why}</p></section>'
        )
    if disclosed.household_ref is not None:
        who = (
            "<p>No member is named to your department: the household is known by its "
            f'anonymised reference <code id="household-ref">{escape(disclosed.household_ref)}'
            "</code>.</p>"
        )
    else:
        who = _members(disclosed)
    grounds = "".join(
        f'<dt>{escape(k.replace("_", " "))}</dt><dd data-ground="{escape(k)}">{escape(v)}</dd>'
        for k, v in sorted(disclosed.grounds.items())
    )
    return (
        '<section id="facts"><h2>What your department was sent</h2>'
        f"<dl><dt>region</dt><dd>{escape(disclosed.region_code)}</dd><dt>tier</dt>"
        f"<dd>{escape(disclosed.tier)}</dd></dl><h3>Members concerned</h3>{who}"
        f'<h3>Facts that justify it</h3><dl id="grounds">{grounds}</dl></section>'
    )


def _members(disclosed: Disclosed) -> str:
    if not disclosed.members:
        return '<p class="muted">No member.</p>'
    shown = [m.model_dump(mode="json", exclude_none=True) for m in disclosed.members]
    columns = [
        name
        for name in type(disclosed.members[0]).model_fields
        if name not in ("person_id", "name") and any(name in m for m in shown)
    ]
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    rows = "".join(
        f'<tr class="member"><td>{escape(str(m["name"]))}</td>'
        f"<td>{escape(mask_resident_id(str(m['person_id'])))}</td>"
        + "".join(f"<td>{escape(_value(m.get(c)))}</td>" for c in columns)
        + "</tr>"
        for m in shown
    )
    return (
        '<div class="scroll"><table id="members"><thead><tr><th>name</th><th>resident id</th>'
        f"{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _history(history: Sequence[Step], refusals_not_kept: int) -> str:
    rows = "".join(
        f'<tr class="step" data-what="{escape(s.what)}"><td>{_when(s.at)}</td>'
        f"<td>{escape(s.what)}</td><td>{escape(s.by or '')}</td><td>"
        + "; ".join(f"{escape(k)}: {escape(v)}" for k, v in s.details)
        + "</td></tr>"
        for s in history  # in the order the chain has them: clocks of producers may differ
    )
    more = (
        f'<p class="muted">and {refusals_not_kept} more refused answers, not kept here.</p>'
        if refusals_not_kept
        else ""
    )
    if not rows:
        rows = '<tr><td colspan="4" class="muted">nothing yet</td></tr>'
    return (
        '<section id="history"><h2>History</h2><div class="scroll"><table><thead><tr>'
        "<th>when</th><th>what</th><th>who</th><th>particulars</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>{more}</section>"
    )


def still_reading_page(user: str) -> str:
    body = (
        header(TITLE, "", user, NAV) + '<main id="main"><h2>503: not ready yet</h2>'
        '<p id="reason">feedback is still reading the chain; this page reloads itself.</p></main>'
    )
    return document("not ready yet", body, refresh_seconds=5)


def _when(moment: datetime) -> str:
    return (
        f'<time datetime="{escape(moment.isoformat())}">'
        f"{escape(moment.astimezone(UTC).strftime('%Y-%m-%d %H:%M'))} UTC</time>"
    )


def _days(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def _value(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
