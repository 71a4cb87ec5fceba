"""Special-group tags: each rule at and on both sides of its age or grade threshold."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.types import EmploymentStatus, LabourCapacity, Relation
from services.rules.facts import HouseholdFacts, Member
from services.rules.tags import Tag, tag_members, tags_of
from services.rules.tiers import Tier

ON = date(2026, 6, 1)
_seq = itertools.count(1)


def person(age: int = 40, days_later: int = 0, **kw: Any) -> Member:
    """A member whose `age`-th birthday is ON, moved `days_later` days later."""
    base = Member(
        person_id=f"p{next(_seq)}",
        name="member",
        birth_date=date(ON.year - age, ON.month, ON.day) + timedelta(days=days_later),
        relation=Relation.OTHER,
        monthly_income=Decimal(0),
        labour_capacity=LabourCapacity.FULL,
        employment_status=EmploymentStatus.EMPLOYED,
    )
    return replace(base, **kw)


def household(*members: Member) -> HouseholdFacts:
    return HouseholdFacts("h1", "330100", members)


def tags(*members: Member, tier: Tier = Tier.NONE) -> tuple[Tag, ...]:
    return tags_of(household(person(35), *members), tier, ON)


@pytest.mark.parametrize(("grade", "tagged"), [(1, True), (2, True), (3, False), (4, False)])
@pytest.mark.parametrize("tier", list(Tier))
def test_severely_disabled_is_grade_1_or_2_whatever_the_tier(
    grade: int, tagged: bool, tier: Tier
) -> None:
    assert (Tag.SEVERELY_DISABLED in tags(person(disability_grade=grade), tier=tier)) is tagged


@pytest.mark.parametrize(
    ("tier", "tagged"),
    [
        (Tier.EXTREMELY_POOR, False),
        (Tier.DIBAO, True),
        (Tier.MARGINAL, True),
        (Tier.RIGID_EXPENDITURE, False),
        (Tier.TEMPORARY, False),
        (Tier.NONE, False),
    ],
)
@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_disabled_in_difficulty_needs_dibao_or_marginal(
    tier: Tier, tagged: bool, grade: int
) -> None:
    assert (Tag.DISABLED_IN_DIFFICULTY in tags(person(disability_grade=grade), tier=tier)) is tagged


def test_no_disability_no_disability_tag() -> None:
    assert tags(person(), tier=Tier.DIBAO) == ()


@pytest.mark.parametrize(
    ("tag", "flag", "age_limit"),
    [
        (Tag.ORPHAN, "orphan", 18),
        (Tag.UNSUPPORTED_CHILD, "parents_unable_to_support", 18),
        (Tag.LEFT_BEHIND_CHILD, "left_behind", 16),
    ],
)
@pytest.mark.parametrize(
    ("years", "days_later", "tagged"),
    [
        (0, 1, True),  # reaches the limit tomorrow: still under it today
        (0, 0, False),  # reaches the limit today
        (-1, 0, True),
        (1, 0, False),
    ],
)
def test_child_tags_at_the_age_limit(
    tag: Tag, flag: str, age_limit: int, years: int, days_later: int, tagged: bool
) -> None:
    child = person(age_limit + years, days_later, **{flag: True})
    assert (tag in tags(child)) is tagged


@pytest.mark.parametrize(
    ("tag", "flag"),
    [
        (Tag.ORPHAN, "orphan"),
        (Tag.UNSUPPORTED_CHILD, "parents_unable_to_support"),
        (Tag.LEFT_BEHIND_CHILD, "left_behind"),
    ],
)
def test_child_tags_need_their_flag(tag: Tag, flag: str) -> None:
    assert tag not in tags(person(10))
    assert tag in tags(person(10, **{flag: True}))


@pytest.mark.parametrize(
    ("age", "days_later", "tagged"),
    [(60, 0, True), (60, 1, False), (59, 0, False), (80, 0, True)],
)
def test_elderly_alone_at_60(age: int, days_later: int, tagged: bool) -> None:
    alone = household(person(age, days_later))
    assert (Tag.ELDERLY_ALONE in tags_of(alone, Tier.NONE, ON)) is tagged


def test_two_elderly_people_are_not_alone() -> None:
    assert tags_of(household(person(70), person(72)), Tier.NONE, ON) == ()


def test_tag_members_name_the_members_who_ground_each_tag() -> None:
    nursing = person(30, disability_grade=1, person_id="n")
    mild = person(30, disability_grade=4, person_id="m")
    orphan = person(12, orphan=True, person_id="o")
    grounded = tag_members(household(nursing, mild, orphan), Tier.DIBAO, ON)
    assert grounded == {
        Tag.SEVERELY_DISABLED: ("n",),
        Tag.DISABLED_IN_DIFFICULTY: ("n", "m"),
        Tag.ORPHAN: ("o",),
    }


def test_tags_are_sorted_by_name() -> None:
    everything = (
        person(10, orphan=True, parents_unable_to_support=True, left_behind=True),
        person(40, disability_grade=2),
    )
    assert tags(*everything, tier=Tier.MARGINAL) == (
        Tag.DISABLED_IN_DIFFICULTY,
        Tag.LEFT_BEHIND_CHILD,
        Tag.ORPHAN,
        Tag.SEVERELY_DISABLED,
        Tag.UNSUPPORTED_CHILD,
    )


flags = st.fixed_dictionaries(
    {
        "disability_grade": st.one_of(st.none(), st.integers(1, 4)),
        "orphan": st.booleans(),
        "parents_unable_to_support": st.booleans(),
        "left_behind": st.booleans(),
    }
)
many = st.lists(st.tuples(st.integers(1, 90), flags), min_size=1, max_size=4)


@given(many, st.sampled_from(Tier), st.sampled_from(Tier))
def test_only_disabled_in_difficulty_depends_on_the_tier(
    specs: list[tuple[int, dict[str, Any]]], one: Tier, other: Tier
) -> None:
    facts = household(*(person(age, **kw) for age, kw in specs))
    first = set(tags_of(facts, one, ON)) - {Tag.DISABLED_IN_DIFFICULTY}
    second = set(tags_of(facts, other, ON)) - {Tag.DISABLED_IN_DIFFICULTY}
    assert first == second


@given(many, st.sampled_from(Tier))
def test_tags_are_sorted_unique_and_grounded(
    specs: list[tuple[int, dict[str, Any]]], tier: Tier
) -> None:
    facts = household(*(person(age, **kw) for age, kw in specs))
    result = tags_of(facts, tier, ON)
    assert list(result) == sorted(set(result))
    ids = {m.person_id for m in facts.members}
    for tag, members in tag_members(facts, tier, ON).items():
        assert tag in result
        assert members
        assert set(members) <= ids
