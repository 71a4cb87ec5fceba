"""A version's impact as a page: what `assist policy impact` prints, per region, as tables and
as charts of the same numbers: the tier transitions, the referrals the version's re-screening
would issue and withdraw per program, and the monthly minimum-living gap before and after.
While the run is under way, its progress instead.

Pure rendering of the API's answers (views.py); every value is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from services.policy.version_pages import NAV, TITLE, about_version, figure, table
from services.policy.views import ImpactProgress, ImpactView, RegionImpactView, VersionView
from services.runtime.web.charts import bar_chart
from services.runtime.web.page import document, header

REFERRAL_SERIES = ("issued", "withdrawn")
GAP_SERIES = ("before", "after")


def _region_names(version: VersionView) -> dict[str, str]:
    """Region code -> its name in the version's own table ("Hangzhou")."""
    return {str(r["region_code"]): str(r.get("name") or r["region_code"]) for r in version.regions}


def _labelled(names: dict[str, str]) -> dict[str, str]:
    """Region code -> "Hangzhou (330100)", for tables and legends."""
    return {code: f"{name} ({code})" if name != code else code for code, name in names.items()}


def _cny(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"


def _transition_rows(regions: Sequence[RegionImpactView], names: dict[str, str]) -> str:
    rows = []
    for region in regions:
        for transition, count in region.tiers.items():
            old, _, new = transition.partition("->")
            rows.append(
                f'<tr class="transition" data-region="{escape(region.region_code)}" '
                f'data-from="{escape(old)}" data-to="{escape(new)}" data-count="{count}">'
                f"<td>{escape(names.get(region.region_code, region.region_code))}</td>"
                f'<td>{escape(old)}</td><td>{escape(new)}</td><td class="n">{count}</td></tr>'
            )
    return "".join(rows) or '<tr><td colspan="4">No household changes tier.</td></tr>'


def _programs_of(region: RegionImpactView) -> list[tuple[str, int, int]]:
    """(program, issued, withdrawn) for every program the version changes in the region."""
    issued, withdrawn = region.referrals_issued, region.referrals_withdrawn
    return [(p, issued.get(p, 0), withdrawn.get(p, 0)) for p in sorted({*issued, *withdrawn})]


def _program_rows(regions: Sequence[RegionImpactView], names: dict[str, str]) -> str:
    rows = [
        f'<tr class="program" data-region="{escape(region.region_code)}" '
        f'data-program="{escape(program)}" data-issued="{issued}" data-withdrawn="{withdrawn}">'
        f"<td>{escape(names.get(region.region_code, region.region_code))}</td>"
        f'<td>{escape(program)}</td><td class="n">{issued}</td><td class="n">{withdrawn}</td>'
        "</tr>"
        for region in regions
        for program, issued, withdrawn in _programs_of(region)
    ]
    return "".join(rows) or '<tr><td colspan="4">No referral is issued or withdrawn.</td></tr>'


def _gap_rows(regions: Sequence[RegionImpactView], names: dict[str, str]) -> str:
    rows = []
    for region in regions:
        before, after = region.minimum_living_gap_before, region.minimum_living_gap_after
        change = Decimal(after) - Decimal(before)
        rows.append(
            f'<tr class="gap" data-region="{escape(region.region_code)}" '
            f'data-before="{escape(before)}" data-after="{escape(after)}">'
            f"<td>{escape(names.get(region.region_code, region.region_code))}</td>"
            f'<td class="n">{escape(_cny(before))}</td><td class="n">{escape(_cny(after))}</td>'
            f'<td class="n">{escape(f"{change:+,.2f}")}</td></tr>'
        )
    return "".join(rows) or '<tr><td colspan="4">No open household was judged.</td></tr>'


def _transitions_chart(regions: Sequence[RegionImpactView], names: dict[str, str]) -> str:
    """One group per transition, one bar per region that has any."""
    changing = [r for r in regions if r.tiers]
    if not changing:
        return ""
    transitions = sorted({t for r in changing for t in r.tiers})
    groups = [
        (t.replace("->", "→"), [float(r.tiers.get(t, 0)) for r in changing]) for t in transitions
    ]
    series = [names.get(r.region_code, r.region_code) for r in changing]
    chart = bar_chart("households changing tier, by region", groups, series)
    return figure("transitions-chart", "Households changing tier", chart)


def _program_charts(regions: Sequence[RegionImpactView], names: dict[str, str]) -> str:
    """Per region with any change: one group per program, bars issued and withdrawn."""
    figures = []
    for region in regions:
        programs = _programs_of(region)
        if not programs:
            continue
        label = names.get(region.region_code, region.region_code)
        groups = [(p, [float(issued), float(withdrawn)]) for p, issued, withdrawn in programs]
        chart = bar_chart(f"referrals issued and withdrawn in {label}", groups, REFERRAL_SERIES)
        figures.append(
            figure(
                f"programs-chart-{escape(region.region_code)}",
                f"Referrals, {label}",
                chart,
                region.region_code,
            )
        )
    return "".join(figures)


def _gap_chart(regions: Sequence[RegionImpactView], short: dict[str, str]) -> str:
    if not regions:
        return ""
    # Grouped by the region's short name: a chart's labels are cut at 14 characters.
    groups = [
        (
            short.get(r.region_code, r.region_code),
            [float(r.minimum_living_gap_before), float(r.minimum_living_gap_after)],
        )
        for r in regions
    ]
    chart = bar_chart("minimum-living gap, CNY a month, before and after", groups, GAP_SERIES)
    return figure("gap-chart", "Minimum-living gap, CNY a month", chart)


def impact_page(version: VersionView, impact: ImpactView, user: str | None) -> str:
    short, regions = _region_names(version), impact.regions
    names = _labelled(short)
    summary = (
        f"impact of {impact.policy_version} from {impact.effective_from.isoformat()}: "
        f"{impact.households} open households"
    )
    body = (
        header(TITLE, escape(summary), user, NAV)
        + f'<main id="main"><h2>Impact of {escape(impact.policy_version)}</h2>'
        + about_version(version, impact.households)
        + '<p class="muted">Every open household judged on its latest facts at the version\'s '
        "effective date (or its last evaluation date, if later), under the standards without "
        "the version and with it. Nothing is written to any chain.</p>"
        + '<section id="tiers"><h2>Tier transitions</h2>'
        + table(
            "transitions",
            "Households whose tier changes",
            ("region", "tier before", "tier after", "households"),
            _transition_rows(regions, names),
            numbers=1,
        )
        + f'<div class="charts">{_transitions_chart(regions, names)}</div></section>'
        + '<section id="referrals"><h2>Referrals by program</h2>'
        + table(
            "programs",
            "What the re-screening on the effective date would issue and withdraw",
            ("region", "program", "issued", "withdrawn"),
            _program_rows(regions, names),
            numbers=2,
        )
        + f'<div class="charts">{_program_charts(regions, names)}</div></section>'
        + '<section id="gap"><h2>Minimum-living gap</h2>'
        + table(
            "gaps",
            "(D − per-capita income) × members, over DIBAO and EXTREMELY_POOR households, "
            "CNY a month",
            ("region", "before", "after", "change"),
            _gap_rows(regions, names),
            numbers=3,
        )
        + f'<div class="charts">{_gap_chart(regions, short)}</div></section></main>'
    )
    return document(f"impact of {impact.policy_version}", body)


def progress_page(
    version: VersionView, progress: ImpactProgress, refresh_seconds: int, user: str | None
) -> str:
    """The run is under way: how far it has got; the page reloads itself until it is done."""
    done, total = progress.done, progress.total
    bar = f'<progress id="run" value="{done}" max="{max(total, 1)}">{done} of {total}</progress>'
    body = (
        header(TITLE, escape(f"impact of {version.policy_version}: computing"), user, NAV)
        + f'<main id="main"><h2>Impact of {escape(version.policy_version)}</h2>'
        + about_version(version)
        + f'<section id="progress" role="status" data-done="{done}" data-total="{total}">'
        f"<h2>Computing</h2><p>{bar} {done} of {total} open households judged.</p>"
        f'<p class="muted">This page reloads every {refresh_seconds} s until the impact is '
        "ready.</p></section></main>"
    )
    return document(f"impact of {version.policy_version}: computing", body, refresh_seconds)
