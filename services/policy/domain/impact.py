"""The impact of a policy version: a shadow run of its re-screening that writes nothing.

Every open household is judged on its latest facts at its evaluation date for the version,
e = max(effective_from, the household's last evaluation date) (evaluations never go back),
twice: BEFORE under the book without the version (whatever would otherwise be in force on e),
AFTER under the book with it.

* Tiers: the households whose tier differs, counted as "BEFORE->AFTER".
* Referrals: the version takes effect through a re-screening on its effective date, and
  referral answers that re-screening from the household's referrals as they stand then.
  Changes that would happen by e without the version (an emergency leaving its window, a
  birthday, another version) come from re-screenings of their own before it. So the BEFORE
  plan is applied first to the household's current open referrals and answered grounds, and
  what is counted is the AFTER plan against the state it leaves: the ReferralIssued and
  ReferralWithdrawn the policy re-screening itself appends. When nothing else changes between
  now and e the BEFORE plan is empty (the household's referrals already answer its current
  classification), and the counts are exactly what the loop appends on the effective date. A
  date that matters on e itself is merged by the scheduler into the policy re-screening; the
  report still counts only the version's own share of it. Amendments (the same referral with
  new grounds) are not issues or withdrawals and are not counted.
* Gap: the monthly minimum-living gap, the sum over DIBAO and EXTREMELY_POOR households of
  (D - pci) * N = N * D - I, under each book.

Cost (100,000 households within a minute): each household is judged by classification's own
steps without the rule trace (verdict.py); under AFTER its rules are checked again only when a
comparison with the standard comes out otherwise, and not at all in a region whose figures the
version leaves as they are. The referral plans, which need the whole classification, are made
only for households whose tier or tags change: the same tier and tags ground the same programs
for the same members, so referral would change nothing. Households that cannot be judged (no
members, an unknown region) are left out and listed in `skipped`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from events.types import Program
from services.policy.domain.referrals import ReferralState, needs_of, plan
from services.policy.domain.verdict import judge as verdict_under
from services.policy.domain.verdict import judge_again as verdict_again
from services.rules.classify import classify
from services.rules.facts import HouseholdFacts
from services.rules.standards import PolicyBook, RegionStandard

CENTS = Decimal("0.01")
PROGRESS_EVERY = 500  # households between two progress reports


@dataclass(frozen=True, slots=True)
class HouseholdSnapshot:
    """One open household as the impact reads it: frozen, so a run sees no later change."""

    household_id: str
    region_code: str
    evaluated_on: date  # its last evaluation date
    facts: HouseholdFacts  # its latest facts (with their dated expenses)
    referrals: ReferralState


@dataclass
class RegionImpact:
    tiers: Counter[str] = field(default_factory=Counter)
    issued: Counter[Program] = field(default_factory=Counter)
    withdrawn: Counter[Program] = field(default_factory=Counter)
    gap_before: Decimal = Decimal(0)
    gap_after: Decimal = Decimal(0)

    def document(self, region_code: str) -> dict[str, object]:
        return {
            "region_code": region_code,
            "tiers": dict(sorted(self.tiers.items())),
            "referrals_issued": {p.value: n for p, n in sorted(self.issued.items())},
            "referrals_withdrawn": {p.value: n for p, n in sorted(self.withdrawn.items())},
            "minimum_living_gap_before": _money(self.gap_before),
            "minimum_living_gap_after": _money(self.gap_after),
        }


@dataclass
class ImpactReport:
    policy_version: str
    effective_from: date
    households: int = 0
    regions: dict[str, RegionImpact] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (household, why)

    def document(self) -> dict[str, object]:
        """The impact as interfaces.md shows it."""
        return {
            "policy_version": self.policy_version,
            "effective_from": self.effective_from.isoformat(),
            "households": self.households,
            "regions": [self.regions[code].document(code) for code in sorted(self.regions)],
        }


@dataclass(frozen=True, slots=True)
class _Standards:
    before: RegionStandard
    after: RegionStandard
    same: bool  # the version leaves this region's figures as they are on that date


class _Judge:
    """The standards of both books per (region, date), looked up once per run."""

    def __init__(self, before: PolicyBook, after: PolicyBook) -> None:
        self.before, self.after = before, after
        self._standards: dict[tuple[str, date], _Standards] = {}

    def standards(self, region_code: str, on: date) -> _Standards:
        key = (region_code, on)
        found = self._standards.get(key)
        if found is None:
            before = self.before.in_force(region_code, on)
            after = self.after.in_force(region_code, on)
            found = self._standards[key] = _Standards(before, after, _figures_equal(before, after))
        return found


def compute_impact(
    policy_version: str,
    effective_from: date,
    households: Sequence[HouseholdSnapshot],
    before: PolicyBook,
    after: PolicyBook,
    progress: Callable[[int], None] | None = None,
) -> ImpactReport:
    """The shadow run of over-time.md over `households` (see the module's docstring)."""
    report = ImpactReport(policy_version, effective_from)
    judge = _Judge(before, after)
    for done, household in enumerate(households, start=1):
        try:
            _judge_one(report, judge, household, effective_from)
        except (LookupError, ValueError) as error:
            report.skipped.append((household.household_id, str(error)))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if progress is not None:
        progress(len(households))
    return report


def _judge_one(
    report: ImpactReport,
    judge: _Judge,
    household: HouseholdSnapshot,
    effective_from: date,
) -> None:
    on = max(effective_from, household.evaluated_on)
    standards = judge.standards(household.region_code, on)
    facts = household.facts.at(on)  # dated expenses summed again at that date
    old = verdict_under(facts, standards.before, on)
    new = old if standards.same else verdict_again(old, facts, standards.after, on)
    change = None
    if (new.tier, new.tags) != (old.tier, old.tags):
        # The same tier and tags ground the same programs for the same members on the same
        # emergencies, so referral would change nothing: only a change is planned.
        before = classify(facts, standards.before, on)
        after = classify(facts, standards.after, on)
        settled = plan(needs_of(facts, before, on), household.referrals).after
        change = plan(needs_of(facts, after, on), settled)
    # Counted only once judged both ways: a household that fails leaves no half in the report.
    region = report.regions.setdefault(household.region_code, RegionImpact())
    report.households += 1
    if old.tier is not new.tier:
        region.tiers[f"{old.tier.value}->{new.tier.value}"] += 1
    if change is not None:
        region.issued.update(change.issued)
        region.withdrawn.update(change.withdrawn)
    region.gap_before += old.gap
    region.gap_after += new.gap


def _figures_equal(a: RegionStandard, b: RegionStandard) -> bool:
    named = {"policy_version", "effective_from"}
    return a.model_dump(exclude=named) == b.model_dump(exclude=named)


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENTS))
