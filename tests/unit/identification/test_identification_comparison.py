"""Data comparison before classification: records win, a large income gap needs a visit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.loop import declaration, member

from events.household import ApplicationReceived, HouseholdDeclaration
from events.types import FactSource
from services.identification.domain.comparison import compare, income_discrepancy
from services.identification.domain.records import PersonRecord

RECORD, DECLARED, VISIT = FactSource.RECORD, FactSource.DECLARED, FactSource.VISIT
ASSET_FACTS = ("deposits", "vehicles", "residential_properties")
HEAD = member(income="1000")
SPOUSE = member(income="500", relation="spouse")


def household(*members: dict[str, Any], **facts: Any) -> HouseholdDeclaration:
    return ApplicationReceived.model_validate(declaration(list(members) or [HEAD], **facts))


def income_key(m: dict[str, Any]) -> str:
    return f"members[{m['person_id']}].monthly_income"


def income_of(result: Any, m: dict[str, Any]) -> Decimal:
    return next(x.monthly_income for x in result.members if x.person_id == m["person_id"])


def test_without_records_everything_is_declared() -> None:
    result = compare(household(HEAD, SPOUSE), {})
    assert [m.monthly_income for m in result.members] == [Decimal(1000), Decimal(500)]
    assert result.discrepancies == []
    assert result.provenance == {
        income_key(HEAD): DECLARED,
        income_key(SPOUSE): DECLARED,
        "assets.deposits": DECLARED,
        "assets.vehicles": DECLARED,
        "assets.residential_properties": DECLARED,
    }


@pytest.mark.parametrize("recorded", ["1050", "950", "400", "1000"])
def test_a_record_wins_over_the_declaration(recorded: str) -> None:
    result = compare(household(HEAD), {HEAD["person_id"]: PersonRecord(Decimal(recorded))})
    assert income_of(result, HEAD) == Decimal(recorded)
    assert result.provenance[income_key(HEAD)] is RECORD


def test_each_member_says_where_their_income_came_from() -> None:
    result = compare(household(HEAD, SPOUSE), {SPOUSE["person_id"]: PersonRecord(Decimal(600))})
    assert result.provenance[income_key(HEAD)] is DECLARED
    assert result.provenance[income_key(SPOUSE)] is RECORD
    assert (income_of(result, HEAD), income_of(result, SPOUSE)) == (Decimal(1000), Decimal(600))


def test_a_record_without_income_leaves_the_declared_income() -> None:
    records = {HEAD["person_id"]: PersonRecord(deposits=Decimal(10))}
    result = compare(household(HEAD), records)
    assert income_of(result, HEAD) == Decimal(1000)
    assert result.provenance[income_key(HEAD)] is DECLARED


def test_declared_income_far_below_the_record_is_a_discrepancy() -> None:
    result = compare(household(HEAD), {HEAD["person_id"]: PersonRecord(Decimal(2000))})
    [gap] = result.discrepancies
    assert (gap.person_id, gap.field, gap.declared, gap.recorded) == (
        HEAD["person_id"],
        "monthly_income",
        "1000",
        "2000",
    )


@pytest.mark.parametrize(
    ("declared", "recorded", "discrepancy"),
    [
        ("900", "1000", False),  # exactly 10 % lower: within the tolerance
        ("900.01", "1000", False),
        ("899.99", "1000", True),
        ("1111.05", "1234.50", False),  # exactly 10 % of a record with cents
        ("1111.04", "1234.50", True),
        ("0", "0.01", True),
        ("0", "0", False),
        ("1500", "1000", False),  # declaring more than the record is never a gap
    ],
)
def test_the_ten_percent_tolerance(declared: str, recorded: str, discrepancy: bool) -> None:
    applicant = member(income=declared)
    result = compare(
        household(applicant), {applicant["person_id"]: PersonRecord(Decimal(recorded))}
    )
    assert bool(result.discrepancies) is discrepancy
    assert income_discrepancy(Decimal(declared), Decimal(recorded)) is discrepancy


cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@given(declared=cents, recorded=cents)
def test_a_gap_is_more_than_a_tenth_of_the_record(declared: Decimal, recorded: Decimal) -> None:
    # recorded - declared > recorded / 10, in whole cents times ten: no rounding anywhere.
    expected = (recorded - declared) * 10 > recorded
    assert income_discrepancy(declared, recorded) is expected


@given(recorded=st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100))
def test_at_the_tolerance_and_one_cent_either_side(recorded: Decimal) -> None:
    limit = recorded * Decimal("0.9")  # may have a third decimal: compare around it in cents
    below = (limit * 100).to_integral_value(rounding="ROUND_CEILING") / 100 - Decimal("0.01")
    above = (limit * 100).to_integral_value(rounding="ROUND_FLOOR") / 100 + Decimal("0.01")
    assert not income_discrepancy(limit, recorded)
    assert income_discrepancy(below, recorded)
    assert not income_discrepancy(above, recorded)


def test_assets_are_raised_to_what_the_records_total() -> None:
    records = {
        HEAD["person_id"]: PersonRecord(deposits=Decimal(3000), vehicles=1),
        SPOUSE["person_id"]: PersonRecord(deposits=Decimal(4000), residential_properties=2),
    }
    assets = {"deposits": "1000", "vehicles": 0, "residential_properties": 1}
    result = compare(household(HEAD, SPOUSE, assets=assets), records)
    assert (
        result.assets.deposits,
        result.assets.vehicles,
        result.assets.residential_properties,
    ) == (Decimal(7000), 1, 2)
    assert all(result.provenance[f"assets.{f}"] is RECORD for f in ASSET_FACTS)


def test_assets_are_never_lowered_by_records() -> None:
    records = {
        HEAD["person_id"]: PersonRecord(
            deposits=Decimal(3000), vehicles=0, residential_properties=1
        )
    }
    assets = {"deposits": "50000", "vehicles": 1, "residential_properties": 1}
    result = compare(household(HEAD, SPOUSE, assets=assets), records)
    assert (
        result.assets.deposits,
        result.assets.vehicles,
        result.assets.residential_properties,
    ) == (Decimal(50000), 1, 1)
    assert all(result.provenance[f"assets.{f}"] is DECLARED for f in ASSET_FACTS)


def test_records_of_strangers_do_not_count_towards_the_household() -> None:
    stranger = member()
    records = {stranger["person_id"]: PersonRecord(deposits=Decimal(90000), vehicles=3)}
    result = compare(household(HEAD), records)
    assert (result.assets.deposits, result.assets.vehicles) == (Decimal(0), 0)


@given(declared=cents, head=st.none() | cents, spouse=st.none() | cents)
def test_deposits_are_the_larger_of_declaration_and_records(
    declared: Decimal, head: Decimal | None, spouse: Decimal | None
) -> None:
    records = {
        HEAD["person_id"]: PersonRecord(deposits=head),
        SPOUSE["person_id"]: PersonRecord(deposits=spouse),
    }
    result = compare(household(HEAD, SPOUSE, assets={"deposits": str(declared)}), records)
    stated = [d for d in (head, spouse) if d is not None]
    assert result.assets.deposits == max(declared, sum(stated, Decimal(0)))
    raised = bool(stated) and sum(stated, Decimal(0)) > declared
    assert result.provenance["assets.deposits"] is (RECORD if raised else DECLARED)


def test_a_visit_verifies_incomes_but_records_still_raise_its_assets() -> None:
    records = {
        HEAD["person_id"]: PersonRecord(Decimal(5000), deposits=Decimal(80000), vehicles=2),
        SPOUSE["person_id"]: PersonRecord(Decimal(100)),
    }
    result = compare(household(HEAD, SPOUSE), records, VISIT)
    assert result.discrepancies == []
    assert (income_of(result, HEAD), income_of(result, SPOUSE)) == (Decimal(1000), Decimal(500))
    # a grid worker sees the home, not the bank: the larger figure still wins
    assert (result.assets.deposits, result.assets.vehicles) == (Decimal(80000), 2)
    assert result.provenance == {
        income_key(HEAD): VISIT,
        income_key(SPOUSE): VISIT,
        "assets.deposits": RECORD,
        "assets.vehicles": RECORD,
        "assets.residential_properties": VISIT,
    }


def test_only_income_is_replaced_other_member_facts_stay_declared() -> None:
    disabled = member(income="100", disability_grade=2, chronic_illness=True)
    result = compare(household(disabled), {disabled["person_id"]: PersonRecord(Decimal(200))})
    [found] = result.members
    assert (found.disability_grade, found.chronic_illness, found.name) == (
        2,
        True,
        disabled["name"],
    )
