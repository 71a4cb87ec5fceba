"""The policy phases: how long the impact of a version takes over every open household, and
how long the re-screening of all of them takes once the version is in effect.

The system is first topped up to `--impact-households` open households through the topic (the
loop via topic again, its figures kept). Then, as people would: a policy user proposes a version
raising Hangzhou's minimum living standard from the system's tomorrow and reads its impact
(computed by the policy service; timed from the request to the answer), a second policy user
approves it, and an operator moves the manual clock to its effective date. The re-screening is
timed from that request until every household has a HouseholdClassified naming the version on
`assist.chain` (each counted once). What the loop then changed is compared with the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from bench.observer import watched_ends
from bench.phases import Context, at_rest, loop_kafka
from bench.policy_client import PolicyDesk, proposal_body
from bench.rescreening import (
    ChainWatch,
    Reclassified,
    differences,
    referral_changes,
    totals,
)
from bench.stats import rate
from bench.usage import cpu_ms_per_item, cpu_snapshot
from bench.workload import Household, Workload

PROPOSER, APPROVER = "policy.chen", "policy.liu"  # users of the tokens file (maker, checker)
GENERATE_IN = 2000  # households generated between two progress reports
# Households entered at once: all of a chunk's applications reach the chain writer before the
# first household's next event, so a chunk far larger than what the loop carries in the
# observer's stall window (90 s) would look like no progress at all.
TOP_UP_CHUNK = 5000


async def top_up(
    ctx: Context, workload: Workload, have: int, target: int
) -> tuple[list[Household], dict[str, Any] | None]:
    """Households entered through the topic until `target` are open; their loop figures."""
    count = target - have
    if count <= 0:
        return [], None
    task = ctx.progress.add_task(f"impact top-up: generating {count:,} households", total=count)
    households: list[Household] = []
    while len(households) < count:
        part = min(GENERATE_IN, count - len(households))
        households += workload.take(part, "i", start=len(households))
        ctx.progress.update(task, completed=len(households))
        await asyncio.sleep(0)  # let the observer's reader run
    await at_rest(ctx, "impact top-up")
    figures = None
    chunks = range(0, len(households), TOP_UP_CHUNK)
    for n, start in enumerate(chunks, start=1):
        chunk = households[start : start + TOP_UP_CHUNK]
        figures = await loop_kafka(ctx, chunk, f"impact top-up via topic {n}/{len(chunks)}")
    return households, figures


async def measure(
    ctx: Context, households: Sequence[Household], loop: tuple[str, float] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The impact and the re-screening figures; `loop` is the loop's (phase, households/s)
    of the same run that both are compared with."""
    desk = PolicyDesk(ctx.stack.url("policy"), ctx.stack.url("scheduler"))
    try:
        await at_rest(ctx, "impact")
        operator = ctx.tokens["operator"]
        body = proposal_body(await desk.today(operator))
        name, effective_from = body["policy_version"], date.fromisoformat(body["effective_from"])
        await desk.propose(ctx.users[PROPOSER], body)
        impact = await _impact(ctx, desk, name, len(households))
        await desk.approve(ctx.users[APPROVER], name)
        # Every processor has read the approval before the clock moves: the re-screening is
        # then judged under the new version from its first household.
        await at_rest(ctx, "approval")
        rescreening = await _rescreening(ctx, desk, households, name, effective_from)
    finally:
        await desk.close()
    rescreening["differences"] = differences(
        impact["report"], rescreening.pop("tier_changes"), rescreening.pop("referral_changes")
    )
    rescreening["agrees_with_impact"] = not rescreening["differences"]
    for figures in (impact, rescreening):
        figures |= _relative(figures["households_per_second"], loop)
    return impact, rescreening


def _relative(per_second: float, loop: tuple[str, float] | None) -> dict[str, Any]:
    if loop is None or loop[1] <= 0:
        return {"relative_to": None, "ratio_to_loop": None}
    return {"relative_to": loop[0], "ratio_to_loop": round(per_second / loop[1], 3)}


async def _impact(
    ctx: Context, desk: PolicyDesk, name: str, open_households: int
) -> dict[str, Any]:
    """GET the impact (the first time: computed now), its progress shown while it runs."""
    token = ctx.users[PROPOSER]
    task = ctx.progress.add_task(f"impact of {name}: households judged", total=open_households)
    policy = {"policy": ctx.pids["policy"]}
    cpu = cpu_snapshot(policy).get("policy", 0.0)
    started = time.perf_counter()
    call = asyncio.ensure_future(desk.impact(token, name))
    try:
        while not call.done():
            await asyncio.wait({call}, timeout=0.5)
            if not call.done():
                progress = await desk.impact_progress(token, name)
                ctx.progress.update(
                    task, total=progress["total"] or open_households, completed=progress["done"]
                )
        report = call.result()
    finally:
        call.cancel()
    seconds = time.perf_counter() - started
    judged = int(report["households"])
    ctx.progress.update(task, total=judged, completed=judged)
    figures: dict[str, Any] = {
        "policy_version": name,
        "effective_from": report["effective_from"],
        "households": judged,
        "open_households": open_households,
        "seconds": round(seconds, 3),
        "households_per_second": round(rate(judged, seconds), 1),
        "policy_cpu_seconds": round(cpu_snapshot(policy).get("policy", 0.0) - cpu, 2),
        "changes": totals(report["regions"]),
        "report": report,
    }
    if judged != open_households:  # shown in the table; the re-screening still counts all
        figures["problem"] = f"judged {judged:,} households, {open_households:,} are open"
    return figures


async def _rescreening(
    ctx: Context,
    desk: PolicyDesk,
    households: Sequence[Household],
    name: str,
    effective_from: date,
) -> dict[str, Any]:
    """Advance the clock to the effective date; until every household is classified under it."""
    before = {h.household_id: (str(h.body["region_code"]), h.expected.tier) for h in households}
    tally = Reclassified(name, before)
    task = ctx.progress.add_task(f"re-screening under {name}: households", total=len(before))
    delivered, letters = len(ctx.observer.deliveries), len(ctx.observer.dead_letters)
    watch = ChainWatch(ctx.kafka, ctx.topics.chain)
    await watch.start()  # at the chain's end before the clock moves: nothing is missed
    try:
        cpu = cpu_snapshot(ctx.pids)
        sent_at, _ = await desk.advance(ctx.tokens["operator"], effective_from)
        advance_seconds = time.time() - sent_at
        await watch.follow(
            tally,
            timeout=max(900.0, len(before) / 5.0),
            on_progress=lambda n: ctx.progress.update(task, completed=n),
        )
    finally:
        await watch.stop()
    seconds = max(tally.at.values(), default=sent_at) - sent_at
    # Referrals, withdrawals and the processors off the path still follow: until at rest.
    await at_rest(ctx, "re-screening", timeout=max(300.0, len(before) / 20))
    used = cpu_ms_per_item(cpu, cpu_snapshot(ctx.pids), len(before))
    await ctx.observer.caught_up(await watched_ends(ctx.kafka, ctx.topics))
    changed = ctx.observer.deliveries[delivered:]
    regions = {household: region for household, (region, _) in before.items()}
    referrals = referral_changes(changed, regions)
    tiers = tally.tier_changes()
    return {
        "policy_version": name,
        "effective_from": effective_from.isoformat(),
        "households": tally.done,
        "seconds": round(seconds, 3),
        "households_per_second": round(rate(tally.done, seconds), 2),
        "advance_request_ms": round(advance_seconds * 1000, 1),
        "first_classified_seconds": round(min(tally.at.values(), default=sent_at) - sent_at, 3),
        "referral_changes_delivered_seconds": round(
            max((d.at for d in changed), default=sent_at) - sent_at, 3
        ),
        "changes": {
            "tier_changes": sum(sum(c.values()) for c in tiers.values()),
            **{
                kind: sum(sum(region.get(kind, {}).values()) for region in referrals.values())
                for kind in ("referrals_issued", "referrals_withdrawn")
            },
        },
        "classified_again": tally.repeats,
        "unexpected_households": sorted(tally.strangers)[:20],
        "dead_letters": ctx.observer.dead_letters[letters:][:20],
        "cpu_ms_per_household": used,
        "tier_changes": tiers,
        "referral_changes": referrals,
    }
