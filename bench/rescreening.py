"""Counting the re-screening under a new policy version on `assist.chain`, and checking the
impact report against what the loop then did.

Every household must get a HouseholdClassified naming the new version; each is counted once,
with the wall clock when it became readable (committed), from a consumer positioned at the
chain's end before the clock is moved. What changed (tiers, referrals issued and withdrawn,
per region) is compared with what the impact report said would change.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.stack import BenchError
from bench.verdict import ISSUED, Delivery
from events.types import EventType
from services.runtime.kafka import connection_options, partitions_of
from services.runtime.peek import event_type_of
from services.runtime.settings import KafkaSettings

CLASSIFIED = EventType.HOUSEHOLD_CLASSIFIED.value
WITHDRAWN = EventType.REFERRAL_WITHDRAWN.value
# The referral changes the impact report counts, as its fields name them.
REFERRAL_FIELDS = {ISSUED: "referrals_issued", WITHDRAWN: "referrals_withdrawn"}


def classified_fields(value: bytes | None) -> tuple[str, str, str] | None:
    """(household, policy_version, tier) of a HouseholdClassified on the chain; None for
    any other event (those are not decoded)."""
    if event_type_of(value) != CLASSIFIED:
        return None
    try:
        document = json.loads(value or b"")
    except ValueError:
        return None
    payload = document.get("payload") if isinstance(document, dict) else None
    if not isinstance(payload, dict):
        return None
    return (
        str(document.get("household_id")),
        str(payload.get("policy_version")),
        str(payload.get("tier")),
    )


@dataclass
class Reclassified:
    """Which of the expected households have been classified under `policy_version`, when."""

    policy_version: str
    before: Mapping[str, tuple[str, str]]  # household -> (region, tier before the version)
    at: dict[str, float] = field(default_factory=dict)  # household -> when first seen
    tiers: dict[str, str] = field(default_factory=dict)  # household -> tier under it
    strangers: set[str] = field(default_factory=set)  # classified under it, not expected
    repeats: int = 0  # a second classification under it of a household already counted

    def see(self, household_id: str, policy_version: str, tier: str, at: float) -> None:
        if policy_version != self.policy_version:
            return
        if household_id not in self.before:
            self.strangers.add(household_id)
        elif household_id in self.at:
            self.repeats += 1
        else:
            self.at[household_id] = at
            self.tiers[household_id] = tier

    @property
    def done(self) -> int:
        return len(self.at)

    @property
    def complete(self) -> bool:
        return len(self.at) == len(self.before)

    def missing(self) -> list[str]:
        return sorted(h for h in self.before if h not in self.at)

    def tier_changes(self) -> dict[str, Counter[str]]:
        """Per region, the households whose tier changed, as "BEFORE->AFTER" (the report's)."""
        changes: dict[str, Counter[str]] = {}
        for household_id, after in self.tiers.items():
            region, tier = self.before[household_id]
            if after != tier:
                changes.setdefault(region, Counter())[f"{tier}->{after}"] += 1
        return changes


def referral_changes(
    deliveries: Iterable[Delivery], regions: Mapping[str, str]
) -> dict[str, dict[str, Counter[str]]]:
    """Per region, the referrals issued and withdrawn by program, as the departments got them."""
    changes: dict[str, dict[str, Counter[str]]] = {}
    for d in deliveries:
        name = REFERRAL_FIELDS.get(d.event_type)
        if name is None:
            continue  # amendments and overdue notices are not counted by the report
        region = regions.get(d.household_id, "unknown")
        changes.setdefault(region, {}).setdefault(name, Counter())[d.program] += 1
    return changes


def differences(
    report: Mapping[str, Any],
    tiers: Mapping[str, Counter[str]],
    referrals: Mapping[str, Mapping[str, Counter[str]]],
) -> list[str]:
    """Where the impact report and what the loop did differ, one line per figure."""
    said = {r["region_code"]: r for r in report.get("regions", [])}
    found: list[str] = []
    for region in sorted(set(said) | set(tiers) | set(referrals)):
        reported = said.get(region, {})
        seen = {"tiers": tiers.get(region, Counter()), **referrals.get(region, {})}
        for name in ("tiers", *REFERRAL_FIELDS.values()):
            expected = Counter(reported.get(name, {}))
            got = seen.get(name, Counter())
            for key in sorted(set(expected) | set(got)):
                if expected[key] != got[key]:
                    found.append(f"{region} {name} {key}: report {expected[key]}, loop {got[key]}")
    return found


def totals(region_figures: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Tier changes, referrals issued and withdrawn summed over the report's regions."""
    summed = {"tier_changes": 0, "referrals_issued": 0, "referrals_withdrawn": 0}
    for region in region_figures:
        summed["tier_changes"] += sum(region.get("tiers", {}).values())
        for name in REFERRAL_FIELDS.values():
            summed[name] += sum(region.get(name, {}).values())
    return summed


class ChainWatch:
    """A read_committed consumer of `assist.chain` from where it ended when `start` ran."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            **connection_options(kafka),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        self._topic = topic

    async def start(self) -> None:
        await self._consumer.start()
        partitions: list[TopicPartition] = await partitions_of(self._consumer, self._topic)
        self._consumer.assign(partitions)
        ends = await self._consumer.end_offsets(partitions)
        for tp, end in ends.items():
            self._consumer.seek(tp, end)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._consumer.stop()

    async def follow(
        self,
        tally: Reclassified,
        timeout: float,
        stall: float = 300,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        """Until every expected household is classified under the version; fail on a stall."""
        deadline = time.monotonic() + timeout
        last_done, last_change = -1, time.monotonic()
        while not tally.complete:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=5000)
            at = time.time()
            for records in batches.values():
                for record in records:
                    fields = classified_fields(record.value)
                    if fields is not None:
                        tally.see(*fields, at)
            if on_progress:
                on_progress(tally.done)
            now = time.monotonic()
            if tally.done != last_done:
                last_done, last_change = tally.done, now
            if now > deadline or now - last_change > stall:
                missing = tally.missing()
                why = "timed out" if now > deadline else f"no progress for {stall:.0f}s"
                raise BenchError(
                    f"re-screening {why}: {len(missing)} of {len(tally.before)} households not "
                    f"classified under {tally.policy_version}, e.g. {', '.join(missing[:10])}"
                )
