"""The six assistance tiers of domain.md, evaluated in order, each with the reasons it failed.

Rounding: none decides a tier. Every comparison is made on exact Decimals by
cross-multiplying (pci < D is I < N*D; eff < M is 12*I - R < 12*N*M; the asset
test is deposits <= N*asset_months*D), under a context that traps any inexact
result. Quotients (pci, eff, Y, deposits per person) appear only in the trace,
shown to 28 significant digits, and are never compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext
from enum import StrEnum
from typing import Final

from services.rules.facts import Emergency, HouseholdFacts
from services.rules.standards import RegionStandard

EMERGENCY_WINDOW_DAYS: Final = 90
ELDERLY_AGE: Final = 60
CHILD_AGE: Final = 16  # "under 16" in the extreme-poverty rule

# Products of amounts must be exact; a trap turns any silent rounding into an error.
_EXACT: Final = Context(prec=60, traps=[InvalidOperation, Inexact])
_DISPLAY: Final = Context(prec=28)


class Tier(StrEnum):
    """Assistance tiers, in the order they are evaluated."""

    EXTREMELY_POOR = "EXTREMELY_POOR"
    DIBAO = "DIBAO"
    MARGINAL = "MARGINAL"
    RIGID_EXPENDITURE = "RIGID_EXPENDITURE"
    TEMPORARY = "TEMPORARY"
    NONE = "NONE"


RULES: Final[dict[Tier, str]] = {
    Tier.EXTREMELY_POOR: (
        "EXTREMELY_POOR: every member aged >= 60, under 16 or disabled; "
        "no labour capacity; pci < D; no able legal supporter; assets_ok"
    ),
    Tier.DIBAO: "DIBAO: pci < D and assets_ok",
    Tier.MARGINAL: "MARGINAL: pci < M and assets_ok",
    Tier.RIGID_EXPENDITURE: "RIGID_EXPENDITURE: R > 0 and pci < Y and eff < M and assets_ok",
    Tier.TEMPORARY: "TEMPORARY: an emergency in the last 90 days",
    Tier.NONE: "NONE: no rule applies",
}


def fmt(value: Decimal) -> str:
    """A Decimal as plain digits (never exponent notation)."""
    return format(value, "f")


def _quotient(numerator: Decimal, denominator: Decimal) -> Decimal:
    return _DISPLAY.divide(numerator, denominator)


@dataclass(frozen=True)
class Measures:
    """The household's numbers under a standard, and the exact comparisons the rules use."""

    n: int
    income: Decimal  # I, monthly, whole household
    d: Decimal
    m: Decimal
    yearly_disposable: Decimal  # 12 * Y
    r: Decimal
    deposits: Decimal
    asset_limit: Decimal  # per person: asset_months * D
    vehicles: int
    residential_properties: int
    pci_below_d: bool
    pci_below_m: bool
    pci_below_y: bool
    eff_below_m: bool
    deposits_ok: bool

    @property
    def assets_ok(self) -> bool:
        """Deposits per person within the limit, no vehicle, at most one residential property."""
        return self.deposits_ok and self.vehicles == 0 and self.residential_properties <= 1

    @property
    def pci(self) -> Decimal:
        """Per-capita monthly income (display only)."""
        return _quotient(self.income, Decimal(self.n))

    @property
    def y(self) -> Decimal:
        """Prior-year per-capita disposable income / 12 (display only)."""
        return _quotient(self.yearly_disposable, Decimal(12))

    @property
    def eff(self) -> Decimal:
        """(12*I - R) / 12 / N (display only)."""
        twelve_i = _DISPLAY.multiply(Decimal(12), self.income)
        return _quotient(_DISPLAY.subtract(twelve_i, self.r), Decimal(12 * self.n))

    @property
    def deposits_per_person(self) -> Decimal:
        """Deposits / N (display only)."""
        return _quotient(self.deposits, Decimal(self.n))

    def asset_reasons(self) -> tuple[str, ...]:
        """Why assets_ok fails (empty when it holds)."""
        reasons = []
        if not self.deposits_ok:
            reasons.append(
                f"deposits per person {fmt(self.deposits_per_person)} "
                f"> limit {fmt(self.asset_limit)}"
            )
        if self.vehicles:
            reasons.append(f"{self.vehicles} vehicle(s), none allowed")
        if self.residential_properties > 1:
            reasons.append(
                f"{self.residential_properties} residential properties, at most 1 allowed"
            )
        return tuple(reasons)

    def numbers(self) -> dict[str, str]:
        """Every number the rules compare, as strings."""
        return {
            "N": str(self.n),
            "I": fmt(self.income),
            "pci": fmt(self.pci),
            "D": fmt(self.d),
            "M": fmt(self.m),
            "Y": fmt(self.y),
            "R": fmt(self.r),
            "eff": fmt(self.eff),
            "deposits": fmt(self.deposits),
            "deposits_per_person": fmt(self.deposits_per_person),
            "asset_limit": fmt(self.asset_limit),
            "vehicles": str(self.vehicles),
            "residential_properties": str(self.residential_properties),
        }


def measure(facts: HouseholdFacts, standard: RegionStandard) -> Measures:
    """Compute N, I, D, M, Y, R and the exact comparisons between them."""
    n = len(facts.members)
    if n == 0:
        raise ValueError(f"household {facts.household_id} has no members and cannot be classified")
    with localcontext(_EXACT):
        income = sum((m.monthly_income for m in facts.members), Decimal(0))
        d = standard.dibao_standard
        m = standard.marginal_multiplier * d
        yearly = standard.prior_year_disposable_income
        r = facts.medical_expenses_12m + facts.education_expenses_12m
        asset_limit = standard.asset_months * d
        return Measures(
            n=n,
            income=income,
            d=d,
            m=m,
            yearly_disposable=yearly,
            r=r,
            deposits=facts.deposits,
            asset_limit=asset_limit,
            vehicles=facts.vehicles,
            residential_properties=facts.residential_properties,
            pci_below_d=income < n * d,
            pci_below_m=income < n * m,
            pci_below_y=12 * income < n * yearly,
            eff_below_m=12 * income - r < 12 * n * m,
            deposits_ok=facts.deposits <= n * asset_limit,
        )


@dataclass(frozen=True)
class RuleCheck:
    """One tier's rule as checked: each condition's truth and why the unmet ones failed."""

    tier: Tier
    rule: str
    conditions: tuple[tuple[str, bool], ...]
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when every condition holds."""
        return all(ok for _, ok in self.conditions)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (strings, bools, lists)."""
        return {
            "tier": self.tier.value,
            "rule": self.rule,
            "passed": self.passed,
            "conditions": {name: ok for name, ok in self.conditions},
            "reasons": list(self.reasons),
        }


def emergency_window(on: date) -> tuple[date, date]:
    """The inclusive window of 'the last 90 days' before the effective date."""
    return on - timedelta(days=EMERGENCY_WINDOW_DAYS), on


def recent_emergencies(facts: HouseholdFacts, on: date) -> tuple[Emergency, ...]:
    """Emergencies dated within the window, latest first; ones dated after `on` do not count."""
    start, end = emergency_window(on)
    recent = [e for e in facts.emergencies if start <= e.on <= end]
    return tuple(sorted(recent, key=lambda e: (e.on, e.kind.value), reverse=True))


def _extremely_poor(facts: HouseholdFacts, ms: Measures, on: date) -> RuleCheck:
    reasons: list[str] = []
    outside_groups = []
    for member in facts.members:
        age = member.age_on(on)
        if not (age >= ELDERLY_AGE or age < CHILD_AGE or member.disabled):
            outside_groups.append(f"member {member.person_id} aged {age}, without disability grade")
    capable = [
        f"member {m.person_id} has {m.labour_capacity.value} labour capacity"
        for m in facts.members
        if m.has_labour_capacity
    ]
    reasons += outside_groups + capable
    if not ms.pci_below_d:
        reasons.append(f"pci {fmt(ms.pci)} >= D {fmt(ms.d)}")
    if facts.legal_supporter_able:
        reasons.append("a legal supporter is able to support the household")
    reasons += ms.asset_reasons()
    return RuleCheck(
        tier=Tier.EXTREMELY_POOR,
        rule=RULES[Tier.EXTREMELY_POOR],
        conditions=(
            ("every member aged >= 60, under 16 or disabled", not outside_groups),
            ("no member has labour capacity", not capable),
            ("pci < D", ms.pci_below_d),
            ("no legal supporter able", not facts.legal_supporter_able),
            ("assets_ok", ms.assets_ok),
        ),
        reasons=tuple(reasons),
    )


def _income_rule(tier: Tier, ms: Measures) -> RuleCheck:
    below, line_name, line = (
        (ms.pci_below_d, "D", ms.d) if tier is Tier.DIBAO else (ms.pci_below_m, "M", ms.m)
    )
    reasons = () if below else (f"pci {fmt(ms.pci)} >= {line_name} {fmt(line)}",)
    return RuleCheck(
        tier=tier,
        rule=RULES[tier],
        conditions=((f"pci < {line_name}", below), ("assets_ok", ms.assets_ok)),
        reasons=reasons + ms.asset_reasons(),
    )


def _rigid_expenditure(ms: Measures) -> RuleCheck:
    r_positive = ms.r > 0
    reasons = []
    if not r_positive:
        reasons.append(f"R {fmt(ms.r)} is not > 0")
    if not ms.pci_below_y:
        reasons.append(f"pci {fmt(ms.pci)} >= Y {fmt(ms.y)}")
    if not ms.eff_below_m:
        reasons.append(f"eff {fmt(ms.eff)} >= M {fmt(ms.m)}")
    reasons += ms.asset_reasons()
    return RuleCheck(
        tier=Tier.RIGID_EXPENDITURE,
        rule=RULES[Tier.RIGID_EXPENDITURE],
        conditions=(
            ("R > 0", r_positive),
            ("pci < Y", ms.pci_below_y),
            ("eff < M", ms.eff_below_m),
            ("assets_ok", ms.assets_ok),
        ),
        reasons=tuple(reasons),
    )


def _temporary(facts: HouseholdFacts, on: date) -> RuleCheck:
    recent = recent_emergencies(facts, on)
    start, end = emergency_window(on)
    reasons = () if recent else (f"no emergency between {start.isoformat()} and {end.isoformat()}",)
    return RuleCheck(
        tier=Tier.TEMPORARY,
        rule=RULES[Tier.TEMPORARY],
        conditions=(("emergency in the last 90 days", bool(recent)),),
        reasons=reasons,
    )


def check_tiers(facts: HouseholdFacts, standard: RegionStandard, on: date) -> tuple[RuleCheck, ...]:
    """The rules checked in order up to and including the first that passes (NONE always does)."""
    facts = facts.at(on)
    return check_measured(facts, measure(facts, standard), on)


def check_measured(facts: HouseholdFacts, ms: Measures, on: date) -> tuple[RuleCheck, ...]:
    """check_tiers on facts already at `on` and measured (classify measures once for the rules
    and the trace)."""
    rules = (
        _extremely_poor(facts, ms, on),
        _income_rule(Tier.DIBAO, ms),
        _income_rule(Tier.MARGINAL, ms),
        _rigid_expenditure(ms),
        _temporary(facts, on),
        RuleCheck(tier=Tier.NONE, rule=RULES[Tier.NONE], conditions=(), reasons=()),
    )
    decisive = next(i for i, rule in enumerate(rules) if rule.passed)
    return rules[: decisive + 1]


def tier_of(facts: HouseholdFacts, standard: RegionStandard, on: date) -> Tier:
    """The household's tier at the effective date `on`."""
    return check_tiers(facts, standard, on)[-1].tier
