"""How long an auditor waits: one household's chain read and verified over HTTP, and a full
replay of assist.chain that rebuilds the projection from the log.

Each read is sent alone (one auditor at a time), so the times are the service's answer time
including its access record, not queueing behind other auditors. The replay is the one
`assist replay --rebuild` runs (services.audit.sweep), done in the benchmark's process; the
service's own index rebuild (POST /v1/index/rebuild) is timed too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.stack import BenchError
from bench.stats import summary_ms
from services.audit.sweep import sweep
from services.runtime.settings import KafkaSettings

Progress = Callable[[int], None]


@dataclass
class AuditFigures:
    households: int
    chain_read: dict[str, float | int]
    verify: dict[str, float | int]
    read_and_verify: dict[str, float | int]
    replay: dict[str, Any] = field(default_factory=dict)
    service_rebuild: dict[str, Any] = field(default_factory=dict)


async def probe_reads(
    url: str,
    token: str,
    sample: Sequence[tuple[str, int]],
    on_progress: Progress | None = None,
) -> tuple[list[float], list[float]]:
    """Read and verify each (household, expected chain length); times in seconds."""
    reads, verifies = [], []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        for done, (household_id, length) in enumerate(sample, start=1):
            started = time.perf_counter()
            chain = await client.get(f"/v1/households/{household_id}/chain")
            read = time.perf_counter() - started
            started = time.perf_counter()
            verdict = await client.get(f"/v1/households/{household_id}/chain/verify")
            verify = time.perf_counter() - started
            _check(household_id, length, chain, verdict)
            reads.append(read)
            verifies.append(verify)
            if on_progress:
                on_progress(done)
    return reads, verifies


def _check(household_id: str, length: int, chain: httpx.Response, verdict: httpx.Response) -> None:
    if chain.status_code != 200 or verdict.status_code != 200:
        raise BenchError(
            f"audit answered {chain.status_code}/{verdict.status_code} for "
            f"{household_id}: {chain.text[:200]} {verdict.text[:200]}"
        )
    body, verification = chain.json(), verdict.json()
    if body["length"] != length or verification["length"] != length:
        raise BenchError(
            f"chain of {household_id} has {body['length']} events "
            f"(verify says {verification['length']}), expected {length}"
        )
    if not verification["valid"]:
        raise BenchError(f"chain of {household_id} does not verify: {verification}")


async def replay(
    kafka: KafkaSettings, chain_topic: str, on_progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """`assist replay --rebuild`: the whole chain log read, indexed and verified once."""
    report = await sweep(kafka, chain_topic, None, on_progress)
    if not report.valid:
        names = ", ".join(h for h, _ in report.broken[:10])
        raise BenchError(f"replay found broken chains: {names}")
    return {
        "records": report.records,
        "households": report.households,
        "seconds": round(report.seconds, 3),
        "events_per_second": round(report.events_per_second, 1),
    }


async def service_rebuild(url: str, token: str) -> dict[str, Any]:
    """POST /v1/index/rebuild: the running service rebuilds its index while it keeps serving."""
    async with httpx.AsyncClient(
        base_url=url, timeout=900, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        reply = await client.post("/v1/index/rebuild")
    if reply.status_code != 200:
        raise BenchError(f"index rebuild answered {reply.status_code}: {reply.text[:300]}")
    body: dict[str, Any] = reply.json()
    return body


def figures(reads: list[float], verifies: list[float]) -> AuditFigures:
    both = [r + v for r, v in zip(reads, verifies, strict=True)]
    return AuditFigures(len(reads), summary_ms(reads), summary_ms(verifies), summary_ms(both))
