"""The policy pages' common parts and the list of every version with its status.

Pure rendering of what the API answers (views.py), no script and nothing external; every value
is escaped here, and the routes send each page through `html()`, which masks resident identity
numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from services.policy.views import VersionView
from services.runtime.web.page import document, header

TITLE = "assist · policy"
NAV = (("versions", "/versions"),)
_STATUS_CLASS = {"proposed": "warn", "approved": "ok", "in_force": "ok", "withdrawn": "bad"}


def impact_path(policy_version: str) -> str:
    return f"/versions/{policy_version}/impact"


def status_pill(status: str) -> str:
    return f'<span class="state {_STATUS_CLASS.get(status, "")}">{escape(status)}</span>'


def table(table_id: str, caption: str, heads: Sequence[str], rows: str, numbers: int = 0) -> str:
    """A table in a box that scrolls sideways on a narrow screen; its last `numbers` columns
    hold numbers, aligned right."""
    first_number = len(heads) - numbers
    cells = "".join(
        f'<th scope="col" class="n">{escape(h)}</th>'
        if i >= first_number
        else f'<th scope="col">{escape(h)}</th>'
        for i, h in enumerate(heads)
    )
    return (
        f'<div class="scroll"><table id="{table_id}"><caption class="muted">{escape(caption)}'
        f"</caption><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def figure(figure_id: str, caption: str, chart: str, region: str = "") -> str:
    data = f' data-region="{escape(region)}"' if region else ""
    return (
        f'<figure id="{figure_id}"{data}><figcaption>{escape(caption)}</figcaption>{chart}</figure>'
    )


def decided(v: VersionView) -> str:
    if v.withdrawn_by:
        why = f": {v.withdrawal_reason}" if v.withdrawal_reason else ""
        return f"withdrawn by {escape(v.withdrawn_by)}{escape(why)}"
    if v.approved_by:
        return f"approved by {escape(v.approved_by)}"
    return '<span class="muted">awaiting a second person</span>'


def _version_row(v: VersionView) -> str:
    name = escape(v.policy_version)
    return (
        f'<tr class="version" data-version="{name}" data-status="{escape(v.status)}">'
        f'<th scope="row">{name}</th><td>{status_pill(v.status)}</td>'
        f"<td>{escape(v.effective_from.isoformat())}</td><td>{escape(v.proposed_by)}</td>"
        f"<td>{decided(v)}</td><td>{escape(v.note or '')}</td>"
        f'<td><a class="impact" href="{escape(impact_path(v.policy_version))}">'
        f"impact of {name}</a></td></tr>"
    )


def versions_page(versions: Sequence[VersionView], user: str | None) -> str:
    in_force = [v.policy_version for v in versions if v.status == "in_force"]
    summary = f"{len(versions)} policy versions · in force: {', '.join(in_force) or 'none'}"
    rows = "".join(_version_row(v) for v in versions)
    body = (
        header(TITLE, escape(summary), user, NAV)
        + '<main id="main"><section><h2>Policy versions</h2>'
        + table(
            "versions",
            "Every version by effective date; open a version's impact to see what it would "
            "change over every open household (nothing is written).",
            ("version", "status", "effective from", "proposed by", "decided", "note", "impact"),
            rows,
        )
        + "</section></main>"
    )
    return document("policy versions", body)


def about_version(version: VersionView, households: int | None = None) -> str:
    facts = {
        "version": escape(version.policy_version),
        "status": status_pill(version.status),
        "effective from": escape(version.effective_from.isoformat()),
        "based on": escape(version.based_on or "–"),
        "proposed by": escape(version.proposed_by),
        "decided": decided(version),
    }
    if version.note:
        facts["note"] = escape(version.note)
    if households is not None:
        facts["open households judged"] = str(households)
    listing = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts.items())
    return f'<section id="version"><dl>{listing}</dl></section>'


def waiting_page(reason: str, refresh_seconds: int, user: str | None) -> str:
    """The service cannot answer yet (still reading its topics): why, reloading itself."""
    body = (
        header(TITLE, "not ready", user, NAV)
        + f'<main id="main"><h2>Not ready yet</h2><p id="reason" role="status">{escape(reason)}'
        f'</p><p class="muted">This page reloads every {refresh_seconds} s.</p></main>'
    )
    return document("policy: not ready", body, refresh_seconds)
