"""The impact's judgement of a household is classification's, under either standard."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.policy.domain.verdict import judge, judge_again
from services.rules.classify import classify
from services.rules.facts import HouseholdFacts, Member
from services.rules.standards import PolicyBook, RegionStandard

ON = date(2026, 7, 1)
HANGZHOU = PolicyBook.load_default().in_force("330100", ON)


def facts(incomes: list[int], deposits: int, medical: int, ages: list[int]) -> HouseholdFacts:
    members = tuple(
        Member(
            person_id=f"P{i}",
            name=f"member {i}",
            birth_date=date(ON.year - age, 1, 1),
            relation="head" if i == 0 else "other",
            monthly_income=Decimal(income),
            labour_capacity="none" if age >= 60 or age < 16 else "full",
            employment_status="employed" if income else "unemployed",
        )
        for i, (income, age) in enumerate(zip(incomes, ages, strict=True))
    )
    return HouseholdFacts(
        "HH-1", "330100", members, deposits=Decimal(deposits), medical_expenses_12m=Decimal(medical)
    )


def standard(d: int, multiplier: str) -> RegionStandard:
    return HANGZHOU.model_copy(
        update={
            "dibao_standard": Decimal(d),
            "marginal_multiplier": Decimal(multiplier),
            "policy_version": "other",
        }
    )


@settings(max_examples=300, deadline=None)
@given(
    people=st.lists(
        st.tuples(st.integers(0, 4000), st.sampled_from([8, 30, 45, 61, 75])),
        min_size=1,
        max_size=4,
    ),
    deposits=st.sampled_from([0, 20_000, 200_000]),
    medical=st.sampled_from([0, 5_000, 60_000]),
    d=st.integers(600, 2000),
    multiplier=st.sampled_from(["1", "1.5", "2"]),
)
def test_a_verdict_under_either_standard_is_classifications(
    people: list[tuple[int, int]], deposits: int, medical: int, d: int, multiplier: str
) -> None:
    household = facts([i for i, _ in people], deposits, medical, [a for _, a in people])
    other = standard(d, multiplier)

    before = judge(household, HANGZHOU, ON)
    after = judge_again(before, household, other, ON)

    for verdict, under in ((before, HANGZHOU), (after, other)):
        classified = classify(household, under, ON)
        assert (verdict.tier, verdict.tags) == (classified.tier, classified.tags)
        numbers = classified.trace.numbers
        gap = int(numbers["N"]) * Decimal(numbers["D"]) - Decimal(numbers["I"])
        assert verdict.gap == (gap if classified.tier in ("DIBAO", "EXTREMELY_POOR") else 0)
