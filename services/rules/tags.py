"""Special-group tags of domain.md, independent of the tier (except DISABLED_IN_DIFFICULTY)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from services.rules.facts import HouseholdFacts, Member
from services.rules.tiers import ELDERLY_AGE, Tier

ADULT_AGE: Final = 18
LEFT_BEHIND_AGE: Final = 16
DIFFICULTY_TIERS: Final = frozenset({Tier.DIBAO, Tier.MARGINAL})


class Tag(StrEnum):
    """A special group a household belongs to."""

    SEVERELY_DISABLED = "SEVERELY_DISABLED"
    DISABLED_IN_DIFFICULTY = "DISABLED_IN_DIFFICULTY"
    ORPHAN = "ORPHAN"
    UNSUPPORTED_CHILD = "UNSUPPORTED_CHILD"
    LEFT_BEHIND_CHILD = "LEFT_BEHIND_CHILD"
    ELDERLY_ALONE = "ELDERLY_ALONE"


RULES: Final[dict[Tag, str]] = {
    Tag.SEVERELY_DISABLED: "a member with disability grade 1 or 2",
    Tag.DISABLED_IN_DIFFICULTY: "a member with any disability grade, tier DIBAO or MARGINAL",
    Tag.ORPHAN: "a member under 18 flagged orphan",
    Tag.UNSUPPORTED_CHILD: "a member under 18 whose parents cannot support them",
    Tag.LEFT_BEHIND_CHILD: "a member under 16 whose parents both work away",
    Tag.ELDERLY_ALONE: "a one-member household aged >= 60",
}


def _ids(members: list[Member]) -> tuple[str, ...]:
    return tuple(m.person_id for m in members)


def tag_members(facts: HouseholdFacts, tier: Tier, on: date) -> dict[Tag, tuple[str, ...]]:
    """Each tag that applies, with the person ids of the members who ground it."""
    ms = facts.members
    candidates: dict[Tag, tuple[str, ...]] = {
        Tag.SEVERELY_DISABLED: _ids([m for m in ms if m.disability_grade in (1, 2)]),
        Tag.DISABLED_IN_DIFFICULTY: _ids([m for m in ms if m.disabled])
        if tier in DIFFICULTY_TIERS
        else (),
        Tag.ORPHAN: _ids([m for m in ms if m.orphan and m.age_on(on) < ADULT_AGE]),
        Tag.UNSUPPORTED_CHILD: _ids(
            [m for m in ms if m.parents_unable_to_support and m.age_on(on) < ADULT_AGE]
        ),
        Tag.LEFT_BEHIND_CHILD: _ids(
            [m for m in ms if m.left_behind and m.age_on(on) < LEFT_BEHIND_AGE]
        ),
        Tag.ELDERLY_ALONE: _ids([m for m in ms if len(ms) == 1 and m.age_on(on) >= ELDERLY_AGE]),
    }
    return {tag: ids for tag, ids in candidates.items() if ids}


def tags_of(facts: HouseholdFacts, tier: Tier, on: date) -> tuple[Tag, ...]:
    """The tags that apply, sorted by name."""
    return tuple(sorted(tag_members(facts, tier, on)))
