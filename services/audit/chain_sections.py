"""The chain's own sections of the household page: its verification and its timeline.

Every value is escaped here; resident identity numbers are masked on the way out (`page.html`).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from services.audit.domain.household_timeline import Link, TimelineEntry
from services.audit.household_integrity import HouseholdIntegrity, TreeHeadCoverage
from services.audit.household_view import HouseholdView


def when(moment: datetime | None, zone: tzinfo) -> str:
    """A moment in the deployment's zone, to the second (the exact instant in `datetime`)."""
    if moment is None:
        return '<span class="muted">–</span>'
    local = moment.astimezone(zone)
    return (
        f'<time datetime="{escape(moment.isoformat())}">'
        f"{escape(local.strftime('%Y-%m-%d %H:%M:%S'))}</time>"
    )


def link_to(view: HouseholdView, sequence: int | None) -> str:
    """`#sequence`, linked to that event's entry on the page."""
    anchor = view.anchor_of(sequence)
    if sequence is None:
        return '<span class="muted">–</span>'
    if anchor is None:
        return f"#{sequence}"
    return f'<a href="#{escape(anchor)}">#{sequence}</a>'


def verification_section(view: HouseholdView) -> str:
    integrity = view.integrity
    checked = integrity.verification
    badge = (
        '<span class="state ok">valid</span>'
        if integrity.valid
        else '<span class="state bad">NOT valid</span>'
    )
    if checked.valid:
        chain = f"valid: order, links and hashes of all {checked.length} records"
    else:
        chain = (
            f"broken at sequence {link_to(view, checked.first_bad_sequence)}: "
            f"{escape(checked.reason or '')}"
        )
    rows = [
        ("chain", chain),
        ("length", str(checked.length)),
        ("head hash", f"<code>{escape(checked.head_hash or '–')}</code>"),
        ("chain writer's signatures", _signatures(integrity)),
        *_tree_head(integrity.tree_head),
    ]
    listing = "".join(f"<dt>{escape(name)}</dt><dd>{value}</dd>" for name, value in rows)
    first_bad = checked.first_bad_sequence
    return (
        f'<section id="verification" data-valid="{"true" if integrity.valid else "false"}" '
        f'data-first-bad-sequence="{first_bad if first_bad is not None else ""}">'
        f"<h2>Verification {badge}</h2><dl>{listing}</dl>"
        '<p class="muted">This is the audit service\'s own check, made on the server as this '
        "page was made: chain links and hashes, each record's chain writer's signature, and "
        "each record's inclusion in the latest signed tree head. It is the server vouching for "
        "itself. To check independently on your side, with a tree head and the chain writer's "
        "key kept outside the system: <code>assist checkpoint tree-head HEAD.json</code>, then "
        f"<code>assist verify {escape(view.household_id)} --checkpoint HEAD.json --writer-key "
        "WRITER.pem</code>.</p></section>"
    )


def _signatures(integrity: HouseholdIntegrity) -> str:
    if not integrity.writer_key_held:
        return '<span class="muted">not checked: this service holds no chain writer\'s key</span>'
    if not integrity.unsigned:
        return "every record signed by the chain writer"
    places = ", ".join(str(place) for place in integrity.unsigned)
    return (
        f'<span class="late">record(s) {escape(places)} not appended by the chain writer</span> '
        "(no valid signature): shown, never folded into the state"
    )


def _tree_head(coverage: TreeHeadCoverage | None) -> list[tuple[str, str]]:
    if coverage is None:
        return [("tree head", '<span class="muted">none signed yet</span>')]
    head = (
        f"<code>{escape(coverage.tree_head_id)}</code>, signed "
        f"{escape(coverage.created_at.isoformat())}, {coverage.total_size} records over "
        f"{coverage.partitions} partitions"
    )
    parts = []
    if coverage.proven:
        parts.append(f"{coverage.proven} record(s) proven in it")
    if coverage.not_yet_covered:
        parts.append(
            f'<span id="not-yet-covered">{coverage.not_yet_covered} record(s) not yet covered by '
            "a signed tree head</span> (appended after it; the next one will cover them)"
        )
    if coverage.proven and not coverage.not_yet_covered and not coverage.problems:
        parts = ["every record is included in it"]
    problems = "".join(f'<li class="err">{escape(p)}</li>' for p in coverage.problems)
    included = "; ".join(parts) or '<span class="muted">no record to prove</span>'
    return [
        ("latest tree head", head),
        ("inclusion", included + (f"<ul>{problems}</ul>" if problems else "")),
    ]


def timeline_section(view: HouseholdView) -> str:
    first_bad = view.integrity.verification.first_bad_sequence
    rows = "".join(_event_row(entry, view.zone, entry.place == first_bad) for entry in view.entries)
    later = (
        " Events greyed out were recorded after the as-of instant: not in the state above."
        if view.as_of
        else ""
    )
    return (
        f'<section id="timeline"><h2>The chain: {len(view.entries)} events in chain order</h2>'
        '<p class="muted">Who acted, what the event says and why; a cause links to its event '
        f"in this chain, and each event lists what it led to.{later}</p>"
        '<div class="scroll"><table><thead><tr><th class="n">#</th>'
        f"<th>recorded ({escape(str(view.zone))})</th>"
        "<th>event</th><th>who</th><th>what</th><th>why</th><th>cause → effect</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></div></section>"
    )


def _event_row(entry: TimelineEntry, zone: tzinfo, first_bad: bool) -> str:
    marks = []
    if not entry.appended_by_writer:
        marks.append('<span class="state bad">not appended by the chain writer</span>')
    if first_bad:
        marks.append('<span class="state bad">first bad link</span>')
    if entry.appended_by_writer and not entry.in_state:
        marks.append('<span class="state warn">not in the state shown</span>')
    payload = (
        f"<details><summary>payload</summary><pre>{escape(entry.payload)}</pre></details>"
        if entry.payload
        else ""
    )
    sequence = entry.sequence if entry.sequence is not None else "?"
    return (
        f'<tr class="event{"" if entry.in_state else " muted"}" id="{escape(entry.anchor)}" '
        f'data-sequence="{escape(str(sequence))}" data-event-type="{escape(entry.event_type)}" '
        f'data-in-state="{"true" if entry.in_state else "false"}">'
        f'<td class="n">{escape(str(sequence))}</td><td>{when(entry.recorded_at, zone)}</td>'
        f"<td>{escape(entry.event_type)}<br>"
        f'<span class="muted">by {escape(entry.service)}</span> {" ".join(marks)}</td>'
        f"<td>{escape(entry.who)}</td><td>{escape(entry.what)}{payload}</td>"
        f"<td>{escape(entry.why)}</td><td>{_links(entry)}</td></tr>"
    )


def _links(entry: TimelineEntry) -> str:
    items = [_link_item(link) for link in entry.causes]
    if entry.effects:
        effects = ", ".join(
            f'<a href="#e-{escape(e.event_id)}">#{e.place} {escape(e.event_type)}</a>'
            for e in entry.effects
        )
        items.append(f'<li class="effects">led to {effects}</li>')
    return f'<ul class="parts">{"".join(items)}</ul>' if items else ""


def _link_item(link: Link) -> str:
    if link.place is None:  # named by the event, not in this chain
        return (
            f'<li class="cause">{escape(link.relation)} <code>{escape(link.event_id[:8])}</code> '
            '<span class="muted">(not in this chain)</span></li>'
        )
    return (
        f'<li class="cause">{escape(link.relation)} <a href="#e-{escape(link.event_id)}">'
        f"#{link.place} {escape(link.event_type)}</a></li>"
    )
