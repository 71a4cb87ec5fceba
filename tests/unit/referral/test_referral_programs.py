"""Push according to needs: every row of the push table, at and around its thresholds."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.types import Department, EmploymentStatus, LabourCapacity, Program, Relation, SignalKind
from services.rules import (
    EMERGENCY_KINDS,
    Classification,
    Emergency,
    HouseholdFacts,
    Member,
    PolicyBook,
    Tag,
    Tier,
    classify,
    tags_of,
)
from services.rules.programs import (
    EMERGENCY_GROUNDED,
    ISSUED_WHEN,
    PROGRAM_DEPARTMENT,
    Need,
    charity_linkage_need,
    needed_programs,
    referral_due_at,
)
from services.rules.standards import shipped_proposal

ON = date(2026, 6, 1)
BOOK = PolicyBook.load_default()
HZ = BOOK.in_force("330100", ON)
_seq = itertools.count(1)
P = Program


def person(age: int = 40, days_later: int = 0, **kw: Any) -> Member:
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


ACCIDENT = Emergency(SignalKind.MAJOR_ACCIDENT, ON - timedelta(days=10))


def household(*members: Member, **kw: Any) -> HouseholdFacts:
    # A recent accident keeps every tier consistent with the facts, TEMPORARY included.
    facts = HouseholdFacts(
        "h1", "330100", members or (person(),), residential_properties=1, emergencies=(ACCIDENT,)
    )
    return replace(facts, **kw)


def classified(facts: HouseholdFacts, tier: Tier | None = None) -> Classification:
    """classify(), or its result forced to `tier` (tags recomputed) to test one table row."""
    result = classify(facts, HZ, ON)
    if tier is None:
        return result
    return replace(result, tier=tier, tags=tags_of(facts, tier, ON))


def needs(facts: HouseholdFacts, tier: Tier | None = None) -> dict[Program, Need]:
    return needed_programs(facts, classified(facts, tier), ON)


def test_the_fifteen_programs_and_their_departments() -> None:
    c, m, e = Department.CIVIL_AFFAIRS, Department.MEDICAL_SECURITY, Department.EDUCATION
    dpf = Department.DISABLED_PERSONS_FEDERATION
    assert {p.value: d.value for p, d in PROGRAM_DEPARTMENT.items()} == {
        "extreme_poverty_support": c,
        "minimum_living_allowance": c,
        "medical_assistance": m,
        "education_assistance": e,
        "housing_assistance": Department.HOUSING,
        "employment_assistance": Department.HUMAN_RESOURCES,
        "temporary_assistance": c,
        "disaster_relief": Department.EMERGENCY_MANAGEMENT,
        "disability_nursing_subsidy": dpf,
        "disability_living_subsidy": dpf,
        "orphan_basic_living": c,
        "unsupported_child_allowance": c,
        "child_care_service": c,
        "elderly_meal_assistance": c,
        "charity_linkage": Department.CHARITY,
    }
    assert set(PROGRAM_DEPARTMENT) == set(Program) == set(ISSUED_WHEN)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (Tier.EXTREMELY_POOR, {P.EXTREME_POVERTY_SUPPORT, P.MEDICAL_ASSISTANCE}),
        (Tier.DIBAO, {P.MINIMUM_LIVING_ALLOWANCE, P.MEDICAL_ASSISTANCE}),
        (Tier.MARGINAL, set()),
        (Tier.RIGID_EXPENDITURE, set()),
        (Tier.TEMPORARY, {P.TEMPORARY_ASSISTANCE}),
        (Tier.NONE, set()),
    ],
)
def test_programs_of_the_tier_alone(tier: Tier, expected: set[Program]) -> None:
    facts = household(person())
    result = needs(facts, tier)
    assert set(result) == expected
    for need in result.values():
        assert need.members == (facts.members[0].person_id,)


def test_income_grounds_of_the_civil_affairs_programs() -> None:
    facts = household(person(monthly_income=Decimal(1000)), person())
    (need,) = [n for n in needs(facts).values() if n.program is P.MINIMUM_LIVING_ALLOWANCE]
    assert need.grounds == {
        "tier": "DIBAO",
        "policy_version": "2026-01",
        "rule": "tier DIBAO",
        "per_capita_income": "500",
        "dibao_standard": "1240",
        "household_size": "2",
    }


@pytest.mark.parametrize(
    ("medical", "chronic", "education", "expected"),
    [
        ("0", False, "0", False),
        ("0.01", False, "0", True),
        ("0", True, "0", True),
        ("0", False, "5000", False),  # R > 0 from education alone is not a medical ground
    ],
)
@pytest.mark.parametrize("tier", [Tier.MARGINAL, Tier.RIGID_EXPENDITURE])
def test_medical_assistance_in_marginal_and_rigid_tiers(
    tier: Tier, medical: str, chronic: bool, education: str, expected: bool
) -> None:
    facts = household(
        person(chronic_illness=chronic),
        person(),
        medical_expenses_12m=Decimal(medical),
        education_expenses_12m=Decimal(education),
    )
    result = needs(facts, tier)
    assert (P.MEDICAL_ASSISTANCE in result) is expected
    if expected:
        need = result[P.MEDICAL_ASSISTANCE]
        assert need.department is Department.MEDICAL_SECURITY
        assert need.members == tuple(m.person_id for m in facts.members)
        assert need.grounds["medical_expenses_12m"] == medical
        assert need.grounds["chronically_ill_members"] == ("1" if chronic else "0")


@pytest.mark.parametrize("tier", [Tier.TEMPORARY, Tier.NONE])
def test_no_medical_assistance_outside_the_tiers(tier: Tier) -> None:
    facts = household(person(chronic_illness=True), medical_expenses_12m=Decimal(9000))
    assert P.MEDICAL_ASSISTANCE not in needs(facts, tier)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (Tier.EXTREMELY_POOR, True),
        (Tier.DIBAO, True),
        (Tier.MARGINAL, True),
        (Tier.RIGID_EXPENDITURE, True),
        (Tier.TEMPORARY, False),
        (Tier.NONE, False),
    ],
)
def test_education_assistance_for_the_school_children(tier: Tier, expected: bool) -> None:
    pupil = person(12, in_school=True, employment_status=EmploymentStatus.STUDENT)
    facts = household(person(), pupil, person(8), education_expenses_12m=Decimal("800"))
    result = needs(facts, tier)
    assert (P.EDUCATION_ASSISTANCE in result) is expected
    if expected:
        assert result[P.EDUCATION_ASSISTANCE].members == (pupil.person_id,)
        assert result[P.EDUCATION_ASSISTANCE].grounds["education_expenses_12m"] == "800"
    assert P.EDUCATION_ASSISTANCE not in needs(household(person(), person(8)), tier)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (Tier.EXTREMELY_POOR, True),
        (Tier.DIBAO, True),
        (Tier.MARGINAL, True),
        (Tier.RIGID_EXPENDITURE, False),
        (Tier.TEMPORARY, False),
        (Tier.NONE, False),
    ],
)
def test_housing_assistance_for_an_unsafe_dwelling(tier: Tier, expected: bool) -> None:
    assert (P.HOUSING_ASSISTANCE in needs(household(dwelling_unsafe=True), tier)) is expected
    assert P.HOUSING_ASSISTANCE not in needs(household(dwelling_unsafe=False), tier)


@pytest.mark.parametrize(
    ("age", "days_later", "expected"),
    [
        (16, 0, True),  # 16th birthday today
        (16, 1, False),  # 15 until tomorrow
        (60, 1, True),  # 59 until tomorrow
        (60, 0, False),  # 60th birthday today
        (35, 0, True),
    ],
)
def test_employment_assistance_ages_16_to_59(age: int, days_later: int, expected: bool) -> None:
    jobless = person(age, days_later, employment_status=EmploymentStatus.UNEMPLOYED)
    result = needs(household(person(), jobless), Tier.DIBAO)
    assert (P.EMPLOYMENT_ASSISTANCE in result) is expected
    if expected:
        assert result[P.EMPLOYMENT_ASSISTANCE].members == (jobless.person_id,)
        assert result[P.EMPLOYMENT_ASSISTANCE].department is Department.HUMAN_RESOURCES


@pytest.mark.parametrize(
    ("capacity", "status", "expected"),
    [
        (LabourCapacity.FULL, EmploymentStatus.UNEMPLOYED, True),
        (LabourCapacity.PARTIAL, EmploymentStatus.UNEMPLOYED, True),
        (LabourCapacity.NONE, EmploymentStatus.UNEMPLOYED, False),
        (LabourCapacity.FULL, EmploymentStatus.EMPLOYED, False),
        (LabourCapacity.FULL, EmploymentStatus.RETIRED, False),
        (LabourCapacity.FULL, EmploymentStatus.STUDENT, False),
        (LabourCapacity.FULL, EmploymentStatus.NONE, False),
    ],
)
def test_employment_assistance_needs_capacity_and_unemployment(
    capacity: LabourCapacity, status: EmploymentStatus, expected: bool
) -> None:
    member = person(30, labour_capacity=capacity, employment_status=status)
    assert (P.EMPLOYMENT_ASSISTANCE in needs(household(member), Tier.MARGINAL)) is expected


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (Tier.EXTREMELY_POOR, False),
        (Tier.DIBAO, True),
        (Tier.MARGINAL, True),
        (Tier.RIGID_EXPENDITURE, True),
        (Tier.TEMPORARY, False),
        (Tier.NONE, False),
    ],
)
def test_employment_assistance_tiers(tier: Tier, expected: bool) -> None:
    jobless = person(30, employment_status=EmploymentStatus.UNEMPLOYED)
    assert (P.EMPLOYMENT_ASSISTANCE in needs(household(jobless), tier)) is expected


def test_temporary_assistance_grounds_name_the_latest_emergency() -> None:
    death = Emergency(SignalKind.DEATH_OF_MEMBER, ON - timedelta(days=3))
    facts = household(person(monthly_income=Decimal(9000)), emergencies=(ACCIDENT, death))
    need = needs(facts)[P.TEMPORARY_ASSISTANCE]
    assert classified(facts).tier is Tier.TEMPORARY
    assert need.grounds["emergency_kind"] == "death_of_member"
    assert need.grounds["emergency_on"] == "2026-05-29"
    assert need.department is Department.CIVIL_AFFAIRS


@pytest.mark.parametrize(
    ("days_before", "expected"), [(0, True), (90, True), (91, False), (-1, False)]
)
@pytest.mark.parametrize("income", ["0", "9000"])  # DIBAO, or TEMPORARY / NONE
def test_disaster_relief_for_a_disaster_in_the_last_90_days(
    days_before: int, expected: bool, income: str
) -> None:
    disaster = Emergency(SignalKind.DISASTER, ON - timedelta(days=days_before))
    facts = household(person(monthly_income=Decimal(income)), emergencies=(disaster,))
    result = needs(facts)
    assert (P.DISASTER_RELIEF in result) is expected
    if expected:
        assert result[P.DISASTER_RELIEF].grounds["disaster_on"] == disaster.on.isoformat()
        assert result[P.DISASTER_RELIEF].department is Department.EMERGENCY_MANAGEMENT


def test_other_emergencies_do_not_ground_disaster_relief() -> None:
    assert P.DISASTER_RELIEF not in needs(household(person(monthly_income=Decimal(9000))))


@pytest.mark.parametrize(
    ("member", "tier", "program"),
    [
        ({"disability_grade": 1}, Tier.NONE, P.DISABILITY_NURSING_SUBSIDY),
        ({"disability_grade": 2}, Tier.EXTREMELY_POOR, P.DISABILITY_NURSING_SUBSIDY),
        ({"disability_grade": 3}, Tier.DIBAO, P.DISABILITY_LIVING_SUBSIDY),
        ({"disability_grade": 4}, Tier.MARGINAL, P.DISABILITY_LIVING_SUBSIDY),
        ({"age": 17, "orphan": True}, Tier.NONE, P.ORPHAN_BASIC_LIVING),
        ({"age": 17, "parents_unable_to_support": True}, Tier.NONE, P.UNSUPPORTED_CHILD_ALLOWANCE),
        ({"age": 15, "left_behind": True}, Tier.NONE, P.CHILD_CARE_SERVICE),
    ],
)
def test_tag_programs_name_the_members_concerned(
    member: dict[str, Any], tier: Tier, program: Program
) -> None:
    concerned = person(**member)
    result = needs(household(person(), concerned), tier)
    assert result[program].members == (concerned.person_id,)
    assert result[program].department is PROGRAM_DEPARTMENT[program]
    assert result[program].grounds["rule"] == ISSUED_WHEN[program]


@pytest.mark.parametrize(("grade", "tier"), [(3, Tier.NONE), (4, Tier.RIGID_EXPENDITURE)])
def test_no_disability_subsidy_without_a_tag(grade: int, tier: Tier) -> None:
    result = needs(household(person(disability_grade=grade)), tier)
    assert P.DISABILITY_NURSING_SUBSIDY not in result
    assert P.DISABILITY_LIVING_SUBSIDY not in result


@pytest.mark.parametrize(("age", "expected"), [(60, True), (59, False)])
def test_elderly_meal_assistance_for_one_person_aged_60(age: int, expected: bool) -> None:
    assert (P.ELDERLY_MEAL_ASSISTANCE in needs(household(person(age)))) is expected


def test_charity_linkage_is_never_a_classification_need() -> None:
    facts = household(person(70, labour_capacity=LabourCapacity.NONE), dwelling_unsafe=True)
    assert P.CHARITY_LINKAGE not in needs(facts)


def test_charity_linkage_need_after_a_not_covered_decline() -> None:
    facts = household(person())
    need = charity_linkage_need(
        P.HOUSING_ASSISTANCE, Department.HOUSING, ("p-x",), classified(facts, Tier.MARGINAL)
    )
    assert need.department is Department.CHARITY
    assert need.members == ("p-x",)
    assert need.grounds["declined_program"] == "housing_assistance"
    assert need.grounds["declined_by"] == "housing"
    assert need.grounds["decline_reason"] == "not_covered"


def test_a_tag_the_facts_do_not_ground_is_an_error() -> None:
    facts = household(person())
    forged = replace(classified(facts), tags=(Tag.ORPHAN,))
    with pytest.raises(ValueError, match="ORPHAN"):
        needed_programs(facts, forged, ON)


def test_temporary_without_an_emergency_is_an_error() -> None:
    facts = household(person(), emergencies=())
    with pytest.raises(ValueError, match="no emergency"):
        needed_programs(facts, classified(facts, Tier.TEMPORARY), ON)


@pytest.mark.parametrize("department", list(Department))
def test_due_at_adds_the_service_level_days(department: Department) -> None:
    at = datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    due = referral_due_at(at, department, BOOK)
    assert due - at == timedelta(days=BOOK.service_level_days(department))
    assert due.utcoffset() == at.utcoffset()


def test_due_at_takes_the_service_levels_of_the_version_in_force_on_the_issuing_date() -> None:
    proposal = shipped_proposal()
    faster = proposal.model_copy(
        update={
            "policy_version": "2026-07",
            "effective_from": date(2026, 7, 1),
            "service_level_days": proposal.service_level_days | {Department.HOUSING: 7},
        }
    )
    book = BOOK.with_version(faster)
    at = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)  # 1 July, 04:00 in Hangzhou
    assert referral_due_at(at, Department.HOUSING, book, date(2026, 6, 30)) == at + timedelta(30)
    assert referral_due_at(at, Department.HOUSING, book, date(2026, 7, 1)) == at + timedelta(7)


def test_emergency_programs_are_grounded_on_their_latest_emergency() -> None:
    older = Emergency(SignalKind.DISASTER, ON - timedelta(days=40))
    newer = Emergency(SignalKind.DISASTER, ON - timedelta(days=5))
    accident = Emergency(SignalKind.MAJOR_ACCIDENT, ON - timedelta(days=2))
    facts = household(person(), emergencies=(older, newer, accident))
    result = needs(facts, Tier.TEMPORARY)
    assert result[P.DISASTER_RELIEF].ground == f"disaster@{newer.on.isoformat()}"
    assert result[P.TEMPORARY_ASSISTANCE].ground == f"major_accident@{accident.on.isoformat()}"


def test_due_at_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="zone"):
        referral_due_at(datetime(2026, 6, 1), Department.HOUSING, BOOK)
    due = referral_due_at(datetime(2026, 6, 1, tzinfo=UTC), Department.HOUSING, BOOK)
    assert due == datetime(2026, 7, 1, tzinfo=UTC)


member_specs = st.fixed_dictionaries(
    {
        "age": st.sampled_from([8, 15, 16, 17, 18, 35, 59, 60, 75]),
        "monthly_income": st.sampled_from([Decimal(0), Decimal(600), Decimal(2500), Decimal(9000)]),
        "labour_capacity": st.sampled_from(LabourCapacity),
        "employment_status": st.sampled_from(EmploymentStatus),
        "disability_grade": st.one_of(st.none(), st.integers(1, 4)),
        "in_school": st.booleans(),
        "chronic_illness": st.booleans(),
        "orphan": st.booleans(),
        "parents_unable_to_support": st.booleans(),
        "left_behind": st.booleans(),
    }
)
random_households = st.builds(
    lambda specs, med, unsafe, days, kind: household(
        *(person(**spec) for spec in specs),
        medical_expenses_12m=med,
        dwelling_unsafe=unsafe,
        emergencies=(Emergency(kind, ON - timedelta(days=days)),),
    ),
    st.lists(member_specs, min_size=1, max_size=4),
    st.sampled_from([Decimal(0), Decimal("0.01"), Decimal(20000)]),
    st.booleans(),
    st.integers(0, 120),
    st.sampled_from(EMERGENCY_KINDS),
)


@given(random_households)
def test_needs_are_well_formed(facts: HouseholdFacts) -> None:
    c = classified(facts)
    result = needed_programs(facts, c, ON)
    ids = [m.person_id for m in facts.members]
    assert P.CHARITY_LINKAGE not in result
    for program, need in result.items():
        assert need.program is program
        assert need.department is PROGRAM_DEPARTMENT[program]
        assert need.members
        assert set(need.members) <= set(ids)
        assert len(set(need.members)) == len(need.members)
        assert all(isinstance(v, str) for v in need.grounds.values())
        assert need.grounds["tier"] == c.tier.value
        assert need.grounds["rule"] == ISSUED_WHEN[program]
        # Each emergency grounds its programs anew; the others' ground is the program itself.
        assert (need.ground is not None) is (program in EMERGENCY_GROUNDED)


@given(random_households)
def test_tier_and_tag_programs_follow_the_classification(facts: HouseholdFacts) -> None:
    c = classified(facts)
    result = needed_programs(facts, c, ON)
    assert (P.EXTREME_POVERTY_SUPPORT in result) is (c.tier is Tier.EXTREMELY_POOR)
    assert (P.MINIMUM_LIVING_ALLOWANCE in result) is (c.tier is Tier.DIBAO)
    assert (P.TEMPORARY_ASSISTANCE in result) is (c.tier is Tier.TEMPORARY)
    for tag, program in (
        (Tag.SEVERELY_DISABLED, P.DISABILITY_NURSING_SUBSIDY),
        (Tag.DISABLED_IN_DIFFICULTY, P.DISABILITY_LIVING_SUBSIDY),
        (Tag.ORPHAN, P.ORPHAN_BASIC_LIVING),
        (Tag.UNSUPPORTED_CHILD, P.UNSUPPORTED_CHILD_ALLOWANCE),
        (Tag.LEFT_BEHIND_CHILD, P.CHILD_CARE_SERVICE),
        (Tag.ELDERLY_ALONE, P.ELDERLY_MEAL_ASSISTANCE),
    ):
        assert (program in result) is (tag in c.tags)
    disaster = facts.emergencies[0].kind is SignalKind.DISASTER and (
        ON - timedelta(days=90) <= facts.emergencies[0].on <= ON
    )
    assert (P.DISASTER_RELIEF in result) is disaster
