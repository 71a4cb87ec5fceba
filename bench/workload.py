"""The benchmark's households: a seeded generator of applications that follow domain.md.

Each household is drawn from a profile (a kind of household the rules treat differently: the
extremely poor, a dibao family, a marginal one, one with rigid expenses, a comfortable one,
orphans with a grandparent), with amounts chosen around the region's lines so that the tiers
and the special-group tags are mixed. What each household *should* receive is not decided
here: bench/expected.py asks the real domain code, so the profiles only shape the mix.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.expected import Expectation, expected_referrals
from events.identity import make_resident_id
from services.rules.standards import PolicyBook

Body = dict[str, Any]
REGIONS = ("330100", "500000", "370100", "110000")
CHANNELS = ("window", "online", "grid_worker")


@dataclass(frozen=True)
class Household:
    """One application of the workload and what the loop must make of it."""

    household_id: str
    profile: str
    body: Body  # the POST /v1/applications body, household_id and occurred_at included
    expected: Expectation

    @property
    def referrals(self) -> frozenset[tuple[str, str]]:
        return self.expected.referrals


@dataclass(frozen=True)
class _Lines:
    """The region's lines a profile aims its amounts at (monthly, per person)."""

    d: Decimal  # minimum living standard
    m: Decimal  # marginal line
    y: Decimal  # prior-year disposable income / 12


class Workload:
    """Deterministic for a seed: the same seed gives the same households, in the same order."""

    # Profile weights: most households the system sees are in some difficulty.
    PROFILES: tuple[tuple[str, float], ...] = (
        ("extremely_poor", 0.14),
        ("dibao", 0.30),
        ("marginal", 0.20),
        ("rigid_expenditure", 0.14),
        ("comfortable", 0.12),
        ("orphans", 0.10),
    )

    def __init__(self, seed: int, occurred_at: datetime, policy: PolicyBook | None = None) -> None:
        if occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be zone-aware")
        self.seed = seed
        self.occurred_at = occurred_at
        self.policy = policy or PolicyBook.load_default()
        # The applications' effective date: occurred_at's date in each region's zone, as the
        # loop judges them (not the UTC date, a day behind in the Beijing morning).
        self._on = {r: self.policy.local_date(r, occurred_at) for r in REGIONS}
        self._rng = random.Random(seed)  # noqa: S311 - workload data, not secrets
        self._persons = 0
        self._lines = {r: self._lines_of(r) for r in REGIONS}
        self._builders: dict[str, Callable[[str], list[Body]]] = {
            "extremely_poor": self._extremely_poor,
            "dibao": self._dibao,
            "marginal": self._marginal,
            "rigid_expenditure": self._rigid,
            "comfortable": self._comfortable,
            "orphans": self._orphans,
        }

    def effective_date(self, region: str) -> date:
        """The date the loop judges this workload's applications on in `region`."""
        return self._on[region]

    def take(self, count: int, tag: str, start: int = 0) -> list[Household]:
        """The next `count` households; `tag` keeps their ids apart from other batches, and
        `start` numbers a batch taken in parts on from where the part before ended."""
        return list(self._generate(count, tag, start))

    def _generate(self, count: int, tag: str, start: int) -> Iterator[Household]:
        names = [name for name, _ in self.PROFILES]
        weights = [weight for _, weight in self.PROFILES]
        for index in range(start, start + count):
            household_id = f"BH-{tag}-{index:07d}"
            profile = self._rng.choices(names, weights)[0]
            region = self._rng.choice(REGIONS)
            body = self._body(household_id, profile, region)
            expected = expected_referrals(household_id, body, self.policy, self._on[region])
            yield Household(household_id, profile, body, expected)

    # -- one household --------------------------------------------------------------------------

    def _body(self, household_id: str, profile: str, region: str) -> Body:
        self._region, self._line = region, self._lines[region]
        extra: Body = {}
        members = self._builders[profile](household_id)
        if profile == "rigid_expenditure":
            extra = self._rigid_expenses(members)
        elif self._rng.random() < 0.2:
            extra = {
                "rigid_expenses_12m": {
                    "medical": str(self._rng.randint(200, 3000)),
                    "education": "0",
                }
            }
        rng = self._rng
        body: Body = {
            "household_id": household_id,
            "occurred_at": self.occurred_at.isoformat(),
            "region_code": region,
            "channel": rng.choice(CHANNELS),
            "members": members,
            "assets": {
                "deposits": str(rng.randint(0, 8000)),
                "vehicles": 1 if profile == "comfortable" and rng.random() < 0.5 else 0,
                "residential_properties": rng.choice((0, 1, 1)),
            },
            "rigid_expenses_12m": {"medical": "0", "education": "0"},
            "dwelling_unsafe": profile != "comfortable" and rng.random() < 0.15,
            "legal_supporter_able": False,
        }
        body.update(extra)
        return body

    def _extremely_poor(self, household_id: str) -> list[Body]:
        size = self._rng.choice((1, 1, 2))
        members = [
            self._member(
                household_id,
                self._rng.randint(62, 88),
                "head" if i == 0 else "spouse",
                "retired",
                "none",
                disability=self._maybe_disability(0.25),
            )
            for i in range(size)
        ]
        self._spread_income(members, self._line.d * size * self._fraction(0.1, 0.8))
        return members

    def _dibao(self, household_id: str) -> list[Body]:
        rng = self._rng
        members = [self._member(household_id, rng.randint(24, 55), "head", "unemployed", "full")]
        if rng.random() < 0.8:
            members.append(
                self._member(
                    household_id,
                    rng.randint(24, 55),
                    "spouse",
                    "employed",
                    rng.choice(("full", "partial")),
                    disability=self._maybe_disability(0.15),
                )
            )
        for _ in range(rng.randint(0, 3)):
            members.append(self._child(household_id, left_behind=rng.random() < 0.1))
        payroll = [m for m in members if m["employment_status"] == "employed"]
        total = self._line.d * len(members) * self._fraction(0.2, 0.9)
        self._spread_income(payroll or members[:1], total)
        return members

    def _marginal(self, household_id: str) -> list[Body]:
        members = self._working_family(household_id)
        self._spread_income(members[:2], self._line.d * len(members) * self._fraction(1.08, 1.42))
        return members

    def _rigid(self, household_id: str) -> list[Body]:
        members = self._working_family(household_id)
        self._spread_income(members[:2], self._line.m * len(members) * self._fraction(1.05, 1.4))
        return members

    def _comfortable(self, household_id: str) -> list[Body]:
        members = self._working_family(household_id)
        self._spread_income(members[:2], self._line.y * len(members) * self._fraction(1.1, 2.0))
        return members

    def _orphans(self, household_id: str) -> list[Body]:
        rng = self._rng
        members = [self._member(household_id, rng.randint(62, 80), "head", "retired", "none")]
        for _ in range(rng.randint(1, 2)):
            members.append(
                self._child(
                    household_id,
                    orphan=rng.random() < 0.7,
                    unsupported=rng.random() < 0.3,
                    oldest=15,
                )
            )
        self._spread_income(members[:1], self._line.d * len(members) * self._fraction(0.1, 0.7))
        return members

    # -- parts ----------------------------------------------------------------------------------

    def _working_family(self, household_id: str) -> list[Body]:
        rng = self._rng
        head_status = "unemployed" if rng.random() < 0.4 else "employed"
        members = [
            self._member(
                household_id,
                rng.randint(26, 58),
                "head",
                head_status,
                "full",
                chronic=rng.random() < 0.25,
            ),
            self._member(
                household_id,
                rng.randint(26, 58),
                "spouse",
                "employed",
                "full",
                disability=self._maybe_disability(0.1),
            ),
        ]
        for _ in range(rng.randint(0, 2)):
            members.append(self._child(household_id, left_behind=rng.random() < 0.08))
        return members

    def _rigid_expenses(self, members: list[Body]) -> Body:
        """R large enough that eff = (12*I - R) / 12 / N falls below M."""
        n = len(members)
        income = sum(Decimal(m["monthly_income"]) for m in members)
        gap = 12 * income - 12 * n * self._line.m  # R must exceed this
        r = int(gap * self._fraction(1.3, 2.5)) + self._rng.randint(500, 5000)
        medical = int(r * self._fraction(0.3, 1.0))
        return {"rigid_expenses_12m": {"medical": str(medical), "education": str(r - medical)}}

    def _child(
        self,
        household_id: str,
        *,
        left_behind: bool = False,
        orphan: bool = False,
        unsupported: bool = False,
        oldest: int = 17,
    ) -> Body:
        age = self._rng.randint(4, oldest)
        return self._member(
            household_id,
            age,
            "child",
            "student",
            "none",
            in_school=age >= 6,
            left_behind=left_behind and age < 15,
            orphan=orphan,
            parents_unable_to_support=unsupported,
        )

    def _member(
        self,
        household_id: str,
        age: int,
        relation: str,
        employment: str,
        capacity: str,
        *,
        disability: int | None = None,
        chronic: bool = False,
        **flags: bool,
    ) -> Body:
        birth = self._birth(age)
        self._persons += 1
        serial = self._persons
        # The first six digits only need to be digits: they also keep 10 million ids apart.
        person_id = make_resident_id(
            f"{self._region[:2]}{serial // 1000 % 10000:04d}", birth, serial % 1000
        )
        member: Body = {
            "person_id": person_id,
            "name": f"{relation.title()} of {household_id}",
            "birth_date": birth.isoformat(),
            "relation": relation,
            "monthly_income": "0",
            "labour_capacity": capacity,
            "employment_status": employment,
            "chronic_illness": chronic,
            **{k: v for k, v in flags.items() if v},
        }
        if disability is not None:
            member["disability_grade"] = disability
        return member

    def _birth(self, age: int) -> date:
        # Mid-year of the age: never on a birthday that would move an age across a boundary.
        on = self._on[self._region]
        return on - timedelta(days=int(age * 365.25) + self._rng.randint(60, 300))

    def _spread_income(self, earners: list[Body], total: Decimal) -> None:
        whole = int(total)
        for i, member in enumerate(earners):
            share = whole // len(earners) + (whole % len(earners) if i == 0 else 0)
            member["monthly_income"] = str(share)

    def _maybe_disability(self, probability: float) -> int | None:
        return self._rng.randint(1, 4) if self._rng.random() < probability else None

    def _fraction(self, low: float, high: float) -> Decimal:
        return Decimal(str(round(self._rng.uniform(low, high), 3)))

    def _lines_of(self, region: str) -> _Lines:
        standard = self.policy.in_force(region, self._on[region])
        d = standard.dibao_standard
        return _Lines(d=d, m=standard.marginal_line, y=standard.prior_year_disposable_income / 12)
