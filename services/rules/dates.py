"""Dates that matter: the next date on which a household's judgment can change by itself.

After an evaluation on date `e`, nothing in the facts changes until a new event arrives, but
time alone moves four things the rules read (over-time.md): a member's age crosses 16, 18 or
60; an emergency leaves its 90 days; a dated expense leaves its 12 months; a tier's periodic
review falls due. The earliest of them strictly after `e` is the household's next date that
matters. Policy versions are the scheduler's to add: they are not facts of the household.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

from events.types import RescreeningReason
from services.rules.calendar import add_months
from services.rules.facts import (
    Emergency,
    Expense,
    HouseholdFacts,
)
from services.rules.tags import ADULT_AGE, LEFT_BEHIND_AGE
from services.rules.tiers import CHILD_AGE, ELDERLY_AGE, EMERGENCY_WINDOW_DAYS, Tier

__all__ = [
    "AGES_THAT_MATTER",
    "REVIEW_MONTHS",
    "NextDate",
    "add_months",
    "birthday_crossing",
    "dates_that_matter",
    "emergency_expires_on",
    "next_date_that_matters",
]

# Every age a tier, tag or program rule compares with (16: extreme poverty's "under 16",
# left-behind children, employment from 16; 18: orphans and unsupported children; 60: extreme
# poverty, elderly alone, employment up to 59).
AGES_THAT_MATTER: Final = tuple(sorted({CHILD_AGE, LEFT_BEHIND_AGE, ADULT_AGE, ELDERLY_AGE}))

REVIEW_MONTHS: Final[dict[Tier, int]] = {
    Tier.DIBAO: 6,
    Tier.EXTREMELY_POOR: 12,
    Tier.MARGINAL: 12,
    Tier.RIGID_EXPENDITURE: 12,
}

# On one date, the reasons in this order: the first names the re-screening, the rest are `also`.
_REASON_ORDER: Final = (
    RescreeningReason.BIRTHDAY,
    RescreeningReason.EMERGENCY_EXPIRED,
    RescreeningReason.EXPENSE_EXPIRED,
    RescreeningReason.PERIODIC_REVIEW,
)
_RANK: Final = {reason: rank for rank, reason in enumerate(_REASON_ORDER)}


@dataclass(frozen=True)
class NextDate:
    """A date that matters and what makes it matter (the member and age, the emergency, or
    the expense); `also` lists the other reasons that fall on the same date."""

    on: date
    reason: RescreeningReason
    person_id: str | None = None
    age: int | None = None
    emergency: Emergency | None = None
    expense: Expense | None = None
    also: tuple[RescreeningReason, ...] = ()


def _order(c: NextDate) -> tuple[object, ...]:
    # Deterministic among equal dates: the reason order, then the youngest age and the lowest
    # person id, the earliest emergency or expense.
    detail: tuple[object, ...] = ()
    if c.age is not None:
        detail = (c.age, c.person_id or "")
    elif c.emergency is not None:
        detail = (c.emergency.on, c.emergency.kind.value)
    elif c.expense is not None:
        detail = (c.expense.on, c.expense.kind.value, c.expense.amount)
    return (c.on, _RANK[c.reason], detail)


def birthday_crossing(birth: date, age: int) -> date:
    """The first date on which someone born on `birth` is `age` (born 29 Feb: 1 Mar in a
    common year, as age_on counts it)."""
    if age < 0:
        raise ValueError(f"an age is >= 0, got {age}")
    year = birth.year + age
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 Feb in a common year
        return date(year, 3, 1)


def emergency_expires_on(emergency: Emergency) -> date:
    """The first date an emergency no longer counts: the day after its inclusive 90 days."""
    return emergency.on + timedelta(days=EMERGENCY_WINDOW_DAYS + 1)


def _candidates(facts: HouseholdFacts, tier: Tier, evaluated_on: date) -> Iterator[NextDate]:
    for member in facts.members:
        for age in AGES_THAT_MATTER:
            on = birthday_crossing(member.birth_date, age)
            if on > evaluated_on:  # an age not reached yet at the evaluation
                yield NextDate(on, RescreeningReason.BIRTHDAY, person_id=member.person_id, age=age)
    for emergency in facts.emergencies:
        yield NextDate(
            emergency_expires_on(emergency),
            RescreeningReason.EMERGENCY_EXPIRED,
            emergency=emergency,
        )
    for expense in facts.expenses or ():
        if expense.amount > 0:  # a zero leaving the window changes no sum
            yield NextDate(expense.expires_on, RescreeningReason.EXPENSE_EXPIRED, expense=expense)
    months = REVIEW_MONTHS.get(tier)
    if months is not None:
        yield NextDate(add_months(evaluated_on, months), RescreeningReason.PERIODIC_REVIEW)


def dates_that_matter(facts: HouseholdFacts, tier: Tier, evaluated_on: date) -> list[NextDate]:
    """Every date that matters strictly after `evaluated_on`, earliest first (ties ordered)."""
    found = [c for c in _candidates(facts, tier, evaluated_on) if c.on > evaluated_on]
    return sorted(found, key=_order)


def next_date_that_matters(
    facts: HouseholdFacts, classification_tier: Tier, evaluated_on: date
) -> NextDate | None:
    """The earliest date strictly after `evaluated_on` on which the household's judgment can
    change by time alone, with the other reasons of that same date in `also`; None when there
    is none (a household of tier TEMPORARY or NONE with no dated fact and no birthday ahead)."""
    found = dates_that_matter(facts, classification_tier, evaluated_on)
    if not found:
        return None
    first = found[0]
    same_day = {c.reason for c in found if c.on == first.on} - {first.reason}
    also = tuple(r for r in _REASON_ORDER if r in same_day)
    return replace(first, also=also)
