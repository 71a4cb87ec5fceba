"""The restart phase: how long each service takes to be ready again, and how much memory it
needs, against the number of households its inputs hold.

Each service in turn is stopped (SIGTERM, as a supervisor stops it) and started again on a loop
at rest; the time is from the new process's start to its /healthz answering 200 (every
processor caught up: today, every input replayed from its beginning into memory). Its peak
resident memory (VmHWM) and CPU time are read at that moment. Measured at two sizes in one run
(after the loop phases, and again once the impact's top-up is in), the two points give each
service's slope, and the figure at 1,000,000 households is that line carried on: labelled
"extrapolated", never passed off as measured.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.phases import Context
from bench.usage import cpu_seconds, peak_rss_mib
from deploy.local.stack import LOOP_SERVICES

NATION_HOUSEHOLDS = 1_000_000  # the goal: restart < 30 s, RSS < 1 GiB per service
TARGET_SECONDS = 30.0
TARGET_RSS_MIB = 1024.0


async def measure(ctx: Context, households: int) -> dict[str, Any]:
    """Restart every service of the loop once; seconds to ready, peak MiB, CPU s each."""
    task = ctx.progress.add_task(
        f"restart with {households} households: services ready again", total=len(LOOP_SERVICES)
    )
    services: dict[str, dict[str, float | None]] = {}
    # Generous: today's restart replays everything, at a few thousand events a second.
    timeout = max(120.0, households / 100)
    for done, name in enumerate(LOOP_SERVICES, start=1):
        seconds = await asyncio.to_thread(ctx.stack.restart, name, timeout)
        pid = ctx.stack.pids()[name]
        ctx.pids[name] = pid  # the later phases' CPU figures follow the new process
        services[name] = {
            "seconds_to_ready": round(seconds, 2),
            "peak_rss_mib": peak_rss_mib(pid),
            "cpu_seconds": cpu_seconds(pid),
        }
        ctx.progress.update(task, completed=done)
    return {"households": households, "services": services}


def slopes(points: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per service, from the smallest and largest measured sizes: seconds and MiB per 1,000
    households, and both carried on to NATION_HOUSEHOLDS (a straight line: replay is linear
    in the events, and state in the households)."""
    if len(points) < 2:
        return {}
    low, high = min(points, key=_size), max(points, key=_size)
    span = high["households"] - low["households"]
    if span <= 0:
        return {}
    found: dict[str, dict[str, float]] = {}
    for name, at_high in high["services"].items():
        at_low = low["services"].get(name)
        if at_low is None or at_high["peak_rss_mib"] is None or at_low["peak_rss_mib"] is None:
            continue
        per_seconds = (at_high["seconds_to_ready"] - at_low["seconds_to_ready"]) / span
        per_mib = (at_high["peak_rss_mib"] - at_low["peak_rss_mib"]) / span
        # A slope below zero is the noise of a service whose restart does not grow: carried
        # on flat, never as a restart that gets faster with more households.
        ahead = NATION_HOUSEHOLDS - high["households"]
        found[name] = {
            "seconds_per_1000_households": round(per_seconds * 1000, 3),
            "mib_per_1000_households": round(per_mib * 1000, 3),
            "extrapolated_seconds_at_1m": round(
                at_high["seconds_to_ready"] + max(0.0, per_seconds) * ahead, 1
            ),
            "extrapolated_rss_mib_at_1m": round(
                at_high["peak_rss_mib"] + max(0.0, per_mib) * ahead, 1
            ),
        }
    return found


def _size(point: dict[str, Any]) -> int:
    return int(point["households"])
