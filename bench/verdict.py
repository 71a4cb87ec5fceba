"""Counting what the departments received against what each household should have (pure).

Every household must receive each expected referral exactly once, and nothing else: no
referral it should not get, no withdrawal, no overdue notice, no dead letter anywhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bench.expected import Referral

ISSUED = "ReferralIssued"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message a department topic carried, and when the benchmark saw it."""

    household_id: str
    event_type: str
    program: str
    department: str
    at: float  # wall clock (time.time()) of the observer


@dataclass
class Verdict:
    households: int
    referrals_expected: int
    referrals_seen: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def completion_times(
    expected: Mapping[str, frozenset[Referral]], deliveries: Iterable[Delivery]
) -> dict[str, float]:
    """When each household got the last of its expected referrals (only households that did)."""
    last: dict[str, float] = {}
    got: dict[str, set[Referral]] = defaultdict(set)
    for d in deliveries:
        wanted = expected.get(d.household_id)
        if d.event_type != ISSUED or not wanted or (d.program, d.department) not in wanted:
            continue
        got[d.household_id].add((d.program, d.department))
        last[d.household_id] = max(last.get(d.household_id, 0.0), d.at)
    return {h: t for h, t in last.items() if got[h] == expected[h]}


def check_deliveries(
    expected: Mapping[str, frozenset[Referral]],
    deliveries: Iterable[Delivery],
    dead_letters: Iterable[str] = (),
    limit: int = 20,
) -> Verdict:
    """Compare; each problem names the household (at most `limit` of each kind are listed)."""
    seen: Counter[tuple[str, str, str, str]] = Counter()
    for d in deliveries:
        seen[(d.household_id, d.event_type, d.program, d.department)] += 1
    missing, duplicated, unexpected = [], [], []
    for household_id, referrals in sorted(expected.items()):
        for program, department in sorted(referrals):
            count = seen.get((household_id, ISSUED, program, department), 0)
            if count == 0:
                missing.append(f"{household_id}: {program} -> {department} never arrived")
            elif count > 1:
                duplicated.append(
                    f"{household_id}: {program} -> {department} arrived {count} times"
                )
    for (household_id, event_type, program, department), count in sorted(seen.items()):
        wanted = expected.get(household_id)
        if wanted is None:
            unexpected.append(f"{household_id}: {event_type} {program} for an unknown household")
        elif event_type != ISSUED or (program, department) not in wanted:
            unexpected.append(
                f"{household_id}: unexpected {event_type} {program} -> {department} (x{count})"
            )
    letters = [f"dead letter: {reason}" for reason in dead_letters]
    problems: list[str] = []
    for kind, found in (
        ("missing", missing),
        ("duplicated", duplicated),
        ("unexpected", unexpected),
        ("dead letters", letters),
    ):
        problems += found[:limit]
        if len(found) > limit:
            problems.append(f"... and {len(found) - limit} more {kind}")
    return Verdict(
        households=len(expected),
        referrals_expected=sum(len(r) for r in expected.values()),
        referrals_seen=sum(seen.values()),
        problems=problems,
    )
