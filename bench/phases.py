"""The measuring phases of one run, each over the same running system.

Households of each phase carry their own id tag, so the observer tells the phases apart;
a phase ends when every one of its households has received all its referrals.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import httpx
from rich.progress import Progress

from bench import audit_probe
from bench.baseline import Baseline
from bench.injector import application_messages, inject
from bench.intake_client import submit_closed, submit_paced
from bench.observer import Observer
from bench.stack import Stack
from bench.stats import rate, summary_ms
from bench.usage import cpu_ms_per_item, cpu_snapshot
from bench.workload import Household
from contracts.topics import TopicNames
from services.runtime.settings import KafkaSettings

T = TypeVar("T")


@dataclass
class Context:
    kafka: KafkaSettings  # the administrator's login: the benchmark's instruments
    auditor: KafkaSettings  # the auditor's login: what `assist replay` runs as
    topics: TopicNames
    stack: Stack
    observer: Observer
    tokens: dict[str, str]  # role -> the token of its first user
    users: dict[str, str]  # user -> token (the second policy user approves)
    progress: Progress
    baseline: Baseline
    # The fastest raw client's messages/s, produced and consumed (run._raw_limit): what the
    # loop's reads and writes would take with nothing of the services around them.
    raw_produce_per_second: float
    raw_consume_per_second: float
    occurred_at: datetime
    concurrency: int
    pids: dict[str, int]  # services and the broker, for their CPU time


def _expect(ctx: Context, households: Sequence[Household]) -> dict[str, frozenset[Any]]:
    expected = {h.household_id: h.referrals for h in households}
    ctx.observer.expect(expected)
    return expected


async def _until_done(ctx: Context, households: Sequence[Household], label: str) -> None:
    with_referrals = sum(1 for h in households if h.referrals)
    task = ctx.progress.add_task(f"{label}: households with all referrals", total=with_referrals)
    await ctx.observer.wait_done(
        [h.household_id for h in households],
        timeout=max(900.0, len(households) / 5.0),
        on_progress=lambda n: ctx.progress.update(task, completed=n),
    )


async def _alongside(work: Awaitable[T], waiting: Awaitable[None]) -> T:
    """Run the load and the wait for its results together; the first failure stops both."""
    load, wait = asyncio.ensure_future(work), asyncio.ensure_future(waiting)
    try:
        await asyncio.gather(load, wait)
    except BaseException:
        for task in (load, wait):
            task.cancel()
        await asyncio.gather(load, wait, return_exceptions=True)
        raise
    return load.result()


async def at_rest(ctx: Context, label: str, timeout: float = 300.0) -> None:
    """Wait for the loop to be at rest, the processors' remaining lag shown as progress."""
    task = ctx.progress.add_task(f"{label}: until the loop is at rest (lag)", total=None)
    peak = 0

    def seen(lag: int) -> None:
        nonlocal peak
        peak = max(peak, lag, 1)
        ctx.progress.update(task, total=peak, completed=peak - lag)

    await ctx.stack.wait_idle(timeout=timeout, on_lag=seen)
    ctx.progress.update(task, total=max(peak, 1), completed=max(peak, 1))


async def message_operations(ctx: Context) -> tuple[int, int]:
    """Messages the services' processors have read and written so far (replays not counted)."""
    async with httpx.AsyncClient() as client:
        reports = await ctx.stack.health(client)
    processors = [p for report in reports.values() for p in report["processors"]]
    return sum(p["consumed"] for p in processors), sum(p["produced"] for p in processors)


async def _loop_figures(
    ctx: Context,
    households: Sequence[Household],
    first: float,
    cpu: dict[str, float],
    operations: tuple[int, int],
    label: str,
) -> dict[str, Any]:
    done = [
        ctx.observer.done_at[h.household_id]
        for h in households
        if h.household_id in ctx.observer.done_at
    ]
    seconds = max(done) - first
    per_second = rate(len(households), seconds)
    # CPU until every processor is done, those off the referral path (audit, feedback) too.
    await at_rest(ctx, label, timeout=max(300.0, len(households) / 20))
    used = cpu_ms_per_item(cpu, cpu_snapshot(ctx.pids), len(households))
    reads, writes = (a - b for a, b in zip(await message_operations(ctx), operations, strict=True))
    # Each application enters as one message (intake's or the injector's), then the processors.
    per_household = {
        "reads": round(reads / len(households), 2),
        "writes": round((writes + len(households)) / len(households), 2),
    }
    # The households/s the raw clients alone would carry doing exactly these writes and reads:
    # the loop's efficiency is how much of that it achieves.
    raw_seconds = (
        per_household["writes"] / ctx.raw_produce_per_second
        + per_household["reads"] / ctx.raw_consume_per_second
    )
    return {
        "households": len(households),
        "referrals": sum(len(h.referrals) for h in households),
        "seconds": round(seconds, 3),
        "households_per_second": round(per_second, 2),
        "ratio_to_baseline": round(per_second / ctx.baseline.pipelined_per_second, 5),
        "message_operations_per_household": per_household,
        "raw_clients_households_per_second": round(1 / raw_seconds, 1),
        "efficiency": round(per_second * raw_seconds, 4),
        # CPU time per household, by process: robust to a busy machine, and it shows who pays.
        "cpu_ms_per_household": used,
    }


async def loop_http(ctx: Context, households: Sequence[Household]) -> dict[str, Any]:
    """Closed-loop HTTP clients enter every household; time until the last referral."""
    _expect(ctx, households)
    sent = ctx.progress.add_task("loop via HTTP: applications accepted", total=len(households))
    cpu, operations = cpu_snapshot(ctx.pids), await message_operations(ctx)
    submissions, retries = await _alongside(
        submit_closed(
            ctx.stack.url("intake"),
            ctx.tokens["intake"],
            households,
            ctx.concurrency,
            on_progress=lambda n: ctx.progress.update(sent, completed=n),
        ),
        _until_done(ctx, households, "loop via HTTP"),
    )
    first = min(s.sent_at for s in submissions)
    figures = await _loop_figures(ctx, households, first, cpu, operations, "loop via HTTP")
    accepted_in = max(s.accepted_at for s in submissions) - first
    figures["intake_per_second"] = round(rate(len(submissions), accepted_in), 1)
    figures["intake_202"] = summary_ms([s.accepted_at - s.sent_at for s in submissions])
    figures["concurrency"] = ctx.concurrency
    figures["http_retries"] = retries
    return figures


async def loop_kafka(
    ctx: Context, households: Sequence[Household], label: str = "loop via topic"
) -> dict[str, Any]:
    """ApplicationReceived envelopes produced straight onto assist.events."""
    _expect(ctx, households)
    messages = application_messages(households, ctx.occurred_at)
    sent = ctx.progress.add_task(f"{label}: applications produced", total=len(messages))
    cpu, operations = cpu_snapshot(ctx.pids), await message_operations(ctx)
    first, produced_in = await _alongside(
        inject(
            ctx.kafka,
            ctx.topics.events,
            messages,
            on_progress=lambda n: ctx.progress.update(sent, completed=n),
        ),
        _until_done(ctx, households, label),
    )
    figures = await _loop_figures(ctx, households, first, cpu, operations, label)
    figures["produce_seconds"] = round(produced_in, 3)
    return figures


async def loop_kafka_paired(
    ctx: Context, households: Sequence[Household], services: tuple[str, ...], alone: float
) -> dict[str, Any]:
    """The loop via topic again with a second instance of each of `services` beside the first
    (sharing its partitions), against `alone` (households/s with one instance each)."""
    await ctx.stack.wait_idle()
    ctx.stack.add_partners(services)
    try:
        ctx.stack.wait_healthy()
        await ctx.stack.wait_shared()
        paired = replace(ctx, pids={**ctx.pids, **ctx.stack.pids()})
        figures = await loop_kafka(paired, households, "loop via topic, two instances each")
    finally:
        ctx.stack.remove_partners()
    await ctx.stack.wait_idle()
    figures["paired"] = list(services)
    figures["ratio_to_one_instance"] = round(figures["households_per_second"] / alone, 4)
    return figures


async def latency(
    ctx: Context, households: Sequence[Household], per_second: float
) -> dict[str, Any]:
    """Open-loop arrivals at `per_second`; intake's 202 to the household's last referral."""
    _expect(ctx, households)
    sent = ctx.progress.add_task(
        f"latency at {per_second:.1f} hh/s: applications", total=len(households)
    )
    submissions, retries = await submit_paced(
        ctx.stack.url("intake"),
        ctx.tokens["intake"],
        households,
        per_second,
        on_progress=lambda n: ctx.progress.update(sent, completed=n),
    )
    await _until_done(ctx, households, "latency")
    accepted = {s.household_id: s.accepted_at for s in submissions}
    waits = [
        ctx.observer.done_at[h.household_id] - accepted[h.household_id]
        for h in households
        if h.referrals
    ]
    span = max(s.sent_at for s in submissions) - min(s.sent_at for s in submissions)
    return {
        "households": len(households),
        "offered_per_second": round(per_second, 2),
        "achieved_per_second": round(rate(len(submissions) - 1, span), 2),
        "intake_to_last_referral": summary_ms(waits),
        "intake_202": summary_ms([s.accepted_at - s.sent_at for s in submissions]),
        "http_retries": retries,
    }


async def audit(
    ctx: Context, households: Sequence[Household], sample_size: int, seed: int
) -> dict[str, Any]:
    """Single-household reads and verifications, then full replays of the chain log."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    sample = rng.sample(list(households), min(sample_size, len(households)))
    pairs = [(h.household_id, h.expected.chain_length) for h in sample]
    task = ctx.progress.add_task("audit: chain read + verify", total=len(pairs))
    token = ctx.tokens["auditor"]
    reads, verifies = await audit_probe.probe_reads(
        ctx.stack.url("audit"),
        token,
        pairs,
        on_progress=lambda n: ctx.progress.update(task, completed=n),
    )
    figures = audit_probe.figures(reads, verifies)
    task = ctx.progress.add_task("audit: replay --rebuild", total=None)
    started = time.perf_counter()
    figures.replay = await audit_probe.replay(
        ctx.auditor,
        ctx.topics.chain,
        on_progress=lambda done, total: ctx.progress.update(task, completed=done, total=total),
    )
    figures.replay["wall_seconds"] = round(time.perf_counter() - started, 3)
    task = ctx.progress.add_task("audit: index rebuild in the service", total=None)
    figures.service_rebuild = await audit_probe.service_rebuild(ctx.stack.url("audit"), token)
    ctx.progress.update(task, total=1, completed=1)
    return {
        "sample": figures.households,
        "chain_read": figures.chain_read,
        "verify": figures.verify,
        "read_and_verify": figures.read_and_verify,
        "replay": figures.replay,
        "service_rebuild": figures.service_rebuild,
    }
