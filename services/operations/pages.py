"""The console's HTML: server-rendered, one inline style sheet, no script and nothing external.

Every value is escaped here; resident identity numbers are masked on the way out (app.py), so
these functions may be given any text.
"""

from __future__ import annotations

from html import escape
from typing import Any

from services.operations.overview import Overview, ProcessorView
from services.operations.trends import DEAD_LETTERS, LAG, THROUGHPUT, TrendLines
from services.runtime.web.charts import Series, line_chart
from services.runtime.web.page import ago as _ago
from services.runtime.web.page import document as _document
from services.runtime.web.page import header
from services.runtime.web.page import number as _n

_STATE_CLASS = {"running": "ok", "catching up": "warn"}
TITLE = "assist · operations"


def _processor_row(p: ProcessorView) -> str:
    parts = "".join(
        f'<li class="{"lag" if lag else ""}">{escape(tp)}: {lag}</li>'
        for tp, lag in sorted(p.lag_by_partition.items())
    )
    error = f'<div class="err">{escape(p.last_error)}</div>' if p.last_error else ""
    sharing = f'<div class="muted sharing">{escape(p.sharing)}</div>' if p.sharing else ""
    if p.stuck:  # where it fails, and how an operator gets it past that message
        command = f"<code>{escape(p.skip_command)}</code>" if p.skip_command else ""
        error = (
            f'<div class="err stuck">{escape(p.stuck)}</div>'
            f'<div class="muted">to skip it (recorded, dead-lettered): {command}</div>'
        )
    return (
        f'<tr class="processor" data-service="{escape(p.service)}" '
        f'data-processor="{escape(p.name)}" data-state="{escape(p.state)}">'
        f"<td>{escape(p.service)}</td><td>{escape(p.name)}{sharing}{error}</td>"
        f'<td><span class="state {_STATE_CLASS.get(p.state, "bad")}">{escape(p.state)}</span></td>'
        f'<td class="n">{_n(p.lag)}</td><td><ul class="parts">{parts}</ul></td>'
        f'<td class="n">{_n(p.consumed)}</td><td class="n">{_n(p.produced)}</td>'
        f'<td class="n">{_n(p.consumed_per_second, "/s")}</td>'
        f'<td class="n">{_n(p.produced_per_second, "/s")}</td>'
        f'<td class="n">{_n(p.restarts)}</td><td>{_ago(p.seconds_since_progress)}</td></tr>'
    )


def console_page(
    overview: Overview,
    refresh_seconds: int,
    user: str | None = None,
    trends: dict[str, TrendLines] | None = None,
) -> str:
    processors = overview.processors
    ready = sum(p.ready for p in processors)
    late = sum(d.overdue for d in overview.departments)
    summary = (
        f"{ready} of {len(processors)} processors ready · "
        f"{overview.dead_letters_total} dead letters · {late} overdue referrals"
    )
    if overview.problems:
        summary += f" · {len(overview.problems)} service problems"
    rows = "".join(_processor_row(p) for p in processors)
    body = (
        header(TITLE, escape(summary), user)
        + '<main id="main">'
        + _problems(overview)
        + '<section id="processors"><h2>Stream processors</h2>'
        '<div class="scroll"><table><thead><tr>'
        "<th>service</th><th>processor</th><th>state</th><th>lag</th><th>lag by partition</th>"
        "<th>consumed</th><th>produced</th><th>in</th><th>out</th><th>restarts</th>"
        f"<th>last progress</th></tr></thead><tbody>{rows}</tbody></table></div></section>"
        + _trends(trends or {})
        + _referrals(overview)
        + _dead_letters(overview)
        + '<p class="muted">Generated '
        + escape(overview.generated_at.isoformat(timespec="seconds"))
        + f"; this page reloads every {refresh_seconds} s.</p></main>"
    )
    return _document("assist operations", body, refresh_seconds)


_CHARTS = (
    (THROUGHPUT, "Throughput", "messages consumed per second, per processor", "/s"),
    (LAG, "Lag", "messages behind the end of the inputs, per processor (the most in a minute)", ""),
    (DEAD_LETTERS, "Dead letters", "dead letters written per minute, by service", ""),
)


def _minutes_ago(x: float) -> str:
    return "now" if x > -1 else f"{-x:.0f} min ago"


def _trends(trends: dict[str, TrendLines]) -> str:
    """The last hour, drawn: one point per minute, the busiest processors by name."""
    figures = "".join(
        f'<figure id="trend-{metric}"><figcaption>{title}</figcaption>'
        + line_chart(
            f"{title}: {caption}",
            [Series(name, points) for name, points in trends.get(metric, {}).items()],
            _minutes_ago,
            unit,
            x_range=(-60.0, 0.0),
        )
        + f'<div class="muted">{escape(caption)}</div></figure>'
        for metric, title, caption, unit in _CHARTS
    )
    return (
        '<section id="trends"><h2>Last hour</h2><div class="charts">'
        f'{figures}</div><p class="muted">Sampled by this console since it started; '
        "the same figures as JSON at <code>/v1/trends</code>.</p></section>"
    )


def _problems(overview: Overview) -> str:
    """What services say is wrong beside their processors, first on the page."""
    if not overview.problems:
        return ""
    items = "".join(
        f"<li><strong>{escape(service)}</strong>: {escape(problem)}</li>"
        for service, problem in overview.problems
    )
    return (
        f'<section id="problems" role="alert"><h2>Service problems</h2><ul>{items}</ul></section>'
    )


def _referrals(overview: Overview) -> str:
    if not overview.referrals_ready:
        return (
            '<section id="referrals"><h2>Referrals by department</h2>'
            '<p class="muted">Still reading the chain…</p></section>'
        )
    rows = "".join(
        f'<tr class="department" data-department="{escape(d.department)}" '
        f'data-open="{d.open}" data-overdue="{d.overdue}"><td>{escape(d.department)}</td>'
        f'<td class="n">{d.open}</td><td class="n{" late" if d.overdue else ""}">{d.overdue}</td>'
        "</tr>"
        for d in overview.departments
    )
    return (
        '<section id="referrals"><h2>Referrals by department</h2>'
        '<div class="scroll"><table class="narrow">'
        "<thead><tr>"
        "<th>department</th><th>open</th><th>overdue</th></tr></thead>"
        f'<tbody>{rows}</tbody></table></div><p class="muted">Open: no final answer yet. '
        "Overdue: open and past its due date.</p></section>"
    )


def _dead_letters(overview: Overview) -> str:
    head = '<section id="dead-letters"><h2>Dead letters</h2>'
    if not overview.dead_letters_ready:
        return head + '<p class="muted">Still reading the dead-letter topic…</p></section>'
    counts = (
        ", ".join(f"{escape(s)}: {n}" for s, n in sorted(overview.dead_letters_by_service.items()))
        or "none"
    )
    rows = "".join(
        f'<tr class="dead-letter" data-id="{escape(d.dead_letter_id)}">'
        f'<td><a href="/deadletters/{escape(d.dead_letter_id)}">{escape(d.dead_letter_id[:8])}</a>'
        f"</td><td>{escape(d.failed_at)}</td><td>{escape(d.service)}</td>"
        f'<td>{escape(d.source)}</td><td class="reason">{escape(_short(d.reason))}</td>'
        f"<td>{'re-driven' if d.redriven else ''}</td></tr>"
        for d in overview.dead_letters
    )
    return (
        head + f"<p>{overview.dead_letters_total} in all (by service: {counts}). "
        "Newest first; open one to inspect it. Re-drive after a fix with "
        "<code>assist deadletter replay ID [--value-file FIXED.json]</code>.</p>"
        '<div class="scroll"><table><thead><tr><th>id</th><th>failed at</th><th>service</th>'
        f"<th>source</th><th>reason</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>"
        "</section>"
    )


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dead_letter_page(document: dict[str, Any], user: str | None = None) -> str:
    source = document["source"]
    facts = {
        "id": document["dead_letter_id"],
        "service": document["service"],
        "failed at": document["failed_at"],
        "reason": document["reason"],
        "source": f"{source['topic']} partition {source['partition']} offset {source['offset']}",
        "key": document["key"] if document["key"] is not None else "(none)",
        "size": f"{document['value_bytes']} bytes",
    }
    if document.get("truncated"):
        facts["truncated"] = (
            f"the dead letter holds the first {document['quoted_bytes']} bytes; the original "
            f"(sha256 {document['value_sha256']}) is at {document['original_at']}, where "
            "assist deadletter show --raw and replay read it"
        )
    listing = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts.items())
    value = document["value_text"]
    shown = escape(value) if value is not None else "(not UTF-8 text)"
    redrives = (
        "".join(
            f"<li>{escape(r['redriven_at'])} by {escape(r['operator'])} to {escape(r['topic'])}/"
            f"{r['partition']}@{r['offset']}{' (fixed value)' if r['fixed'] else ''}</li>"
            for r in document["redrives"]
        )
        or "<li>never</li>"
    )
    body = (
        header(TITLE, '<a href="/">← back to the console</a>', user)
        + '<main id="main">'
        + f"<h2>Dead letter {escape(document['dead_letter_id'])}</h2><dl>{listing}</dl>"
        f"<h2>Original message{' (first bytes)' if document.get('truncated') else ''}</h2>"
        f'<pre id="value">{shown}</pre>'
        f"<h2>Re-drives</h2><ul>{redrives}</ul><p>Re-drive after a fix: <code>assist "
        f"deadletter replay {escape(document['dead_letter_id'])} --value-file FIXED.json"
        "</code></p></main>"
    )
    return _document(f"dead letter {document['dead_letter_id']}", body)
