"""A household's tier, tags and minimum-living gap under one standard, by classification's own
steps, for a report over every open household.

The impact judges each household under two books. The rule trace that `classify` writes for
the chain is not needed for that, so the rules are taken step by step without it (`measure`,
`check_measured`, `tags_of`); the whole classification is made only where referral's needs are
asked for. Under the second standard a household's rules are checked again only when one of
the comparisons they make comes out otherwise: `check_measured` sees a standard through the
Measures alone, and of those through their verdicts (pci < D, pci < M, pci < Y, eff < M,
deposits within the limit); the figures themselves only enter the reasons it gives.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from services.rules.facts import HouseholdFacts
from services.rules.standards import RegionStandard
from services.rules.tags import Tag, tags_of
from services.rules.tiers import Measures, Tier, check_measured, measure

GAP_TIERS = frozenset({Tier.DIBAO, Tier.EXTREMELY_POOR})
# Every yes/no a Measures holds: the comparisons of the household's numbers with the standard.
_COMPARISONS = tuple(f.name for f in fields(Measures) if f.type in (bool, "bool"))


@dataclass(frozen=True, slots=True)
class Verdict:
    tier: Tier
    tags: tuple[Tag, ...]
    gap: Decimal  # (D - pci) * N for DIBAO and EXTREMELY_POOR, else 0
    comparisons: tuple[bool, ...]


def judge(facts: HouseholdFacts, standard: RegionStandard, on: date) -> Verdict:
    """The verdict on `facts` (already at `on`) under `standard`."""
    return _verdict(facts, measure(facts, standard), on)


def judge_again(
    verdict: Verdict, facts: HouseholdFacts, standard: RegionStandard, on: date
) -> Verdict:
    """The verdict under another standard, the rules checked again only when it could differ."""
    measures = measure(facts, standard)
    comparisons = _comparisons(measures)
    if comparisons != verdict.comparisons:
        return _verdict(facts, measures, on)
    return Verdict(verdict.tier, verdict.tags, _gap(verdict.tier, measures), comparisons)


def _verdict(facts: HouseholdFacts, measures: Measures, on: date) -> Verdict:
    tier = check_measured(facts, measures, on)[-1].tier
    return Verdict(tier, tags_of(facts, tier, on), _gap(tier, measures), _comparisons(measures))


def _gap(tier: Tier, measures: Measures) -> Decimal:
    # (D - pci) * N = N * D - I, exact (pci itself is a rounded quotient).
    return measures.n * measures.d - measures.income if tier in GAP_TIERS else Decimal(0)


def _comparisons(measures: Measures) -> tuple[bool, ...]:
    return tuple(getattr(measures, name) for name in _COMPARISONS)
