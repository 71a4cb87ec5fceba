"""Running impacts off the event loop: one at a time, with progress, the last result kept.

An impact over 100,000 households takes tens of seconds of CPU, so it runs in a worker thread
over a snapshot of the state (frozen records, immutable books) taken when it is asked for,
while the processor goes on reading. A request for a version whose run is under way joins it;
the result is kept per version with the state's fingerprint and answered again while the state
is unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prometheus_client import Histogram

from services.policy.domain.impact import HouseholdSnapshot, compute_impact
from services.rules.standards import PolicyBook
from services.rules.versions import VersionRecord
from services.runtime.logging import get_logger

log = get_logger()
SKIPPED_LOGGED = 20  # households that could not be judged, named in the log

IMPACT_SECONDS = Histogram(
    "assist_policy_impact_seconds",
    "Time to compute the impact of a policy version over every open household",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
)


@dataclass
class Progress:
    done: int = 0
    total: int = 0
    running: bool = False

    def advance(self, done: int) -> None:  # called from the worker thread: one int store
        self.done = done

    def document(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "running": self.running}


@dataclass(frozen=True)
class ImpactJob:
    """What one run reads: the version, the households and both books, as they stood."""

    policy_version: str
    effective_from: date
    households: list[HouseholdSnapshot]
    before: PolicyBook
    after: PolicyBook

    @classmethod
    def of(
        cls, book: PolicyBook, record: VersionRecord, households: list[HouseholdSnapshot]
    ) -> ImpactJob:
        """BEFORE: the approved versions without this one; AFTER: with it."""
        name = record.name
        before = PolicyBook(tuple(v for v in book.versions if v.policy_version != name))
        return cls(
            name,
            record.proposal.effective_from,
            households,
            before,
            book.with_version(record.proposal),
        )

    def run(self, progress: Progress) -> dict[str, Any]:
        started = time.perf_counter()
        report = compute_impact(
            self.policy_version,
            self.effective_from,
            self.households,
            self.before,
            self.after,
            progress=progress.advance,
        )
        seconds = time.perf_counter() - started
        IMPACT_SECONDS.observe(seconds)
        log.info(
            "impact computed",
            policy_version=self.policy_version,
            households=report.households,
            skipped=len(report.skipped),
            seconds=round(seconds, 3),
        )
        for household_id, why in report.skipped[:SKIPPED_LOGGED]:
            log.warning("household left out of the impact", household_id=household_id, why=why)
        return report.document()


@dataclass
class ImpactRunner:
    _results: dict[str, tuple[Hashable, dict[str, Any]]] = field(default_factory=dict)
    _running: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _progress: dict[str, Progress] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def progress(self, policy_version: str) -> Progress:
        return self._progress.get(policy_version, Progress())

    async def report(
        self, policy_version: str, fingerprint: Hashable, job: Callable[[], ImpactJob]
    ) -> dict[str, Any]:
        """The impact for the state of `fingerprint`: kept, under way, or computed now."""
        kept = self._results.get(policy_version)
        if kept is not None and kept[0] == fingerprint:
            return kept[1]
        running = self._running.get(policy_version)
        if running is None:
            running = asyncio.ensure_future(self._run(policy_version, fingerprint, job()))
            self._running[policy_version] = running
        # A client that goes away does not stop the run: the next one gets its result.
        return await asyncio.shield(running)

    async def _run(
        self, policy_version: str, fingerprint: Hashable, job: ImpactJob
    ) -> dict[str, Any]:
        progress = self._progress[policy_version] = Progress(0, len(job.households), True)
        try:
            async with self._lock:  # one run at a time: two would only share the same CPU
                document = await asyncio.to_thread(job.run, progress)
            self._results[policy_version] = (fingerprint, document)
            return document
        finally:
            progress.running = False
            self._running.pop(policy_version, None)
