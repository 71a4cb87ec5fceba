"""A referral tells its department only what that department needs."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.referral import ReferralAmended
from events.types import EmploymentStatus, LabourCapacity, Program, Relation, SignalKind
from services.classification.domain import (
    EMERGENCY_KINDS,
    Classification,
    Emergency,
    HouseholdFacts,
    Member,
    Tier,
    classify,
)
from services.policy import Department, PolicyBook
from services.referral.domain.disclosure import (
    ALLOWLIST,
    COMMON,
    PROGRAM_MEMBER_FIELDS,
    amended_payload,
    disclosed_fields,
    referral_payload,
)
from services.referral.domain.programs import Need, charity_linkage_need, needed_programs

ON = date(2026, 6, 1)
HZ = PolicyBook.load_default().in_force("330100", ON)
DUE = datetime(2026, 6, 11, 8, 0, tzinfo=UTC)
_seq = itertools.count(1)


def person(age: int = 40, **kw: Any) -> Member:
    base = Member(
        person_id=f"p{next(_seq)}",
        name=f"member {age}",
        birth_date=date(ON.year - age, ON.month, ON.day),
        relation=Relation.OTHER,
        monthly_income=Decimal(0),
        labour_capacity=LabourCapacity.FULL,
        employment_status=EmploymentStatus.EMPLOYED,
    )
    return replace(base, **kw)


# A DIBAO household that grounds most programs at once.
PARENT = person(45, monthly_income=Decimal("900.50"), chronic_illness=True)
JOBLESS = person(22, employment_status=EmploymentStatus.UNEMPLOYED)
PUPIL = person(12, in_school=True, left_behind=True, employment_status=EmploymentStatus.STUDENT)
DISABLED = person(
    70, disability_grade=2, labour_capacity=LabourCapacity.NONE, orphan=False, in_school=False
)
FACTS = HouseholdFacts(
    household_id="h1",
    region_code="330100",
    members=(PARENT, JOBLESS, PUPIL, DISABLED),
    deposits=Decimal("12000"),
    residential_properties=1,
    medical_expenses_12m=Decimal("15000.25"),
    education_expenses_12m=Decimal("800"),
    dwelling_unsafe=True,
    emergencies=(Emergency(SignalKind.DISASTER, ON - timedelta(days=5)),),
)
CLASSIFICATION = classify(FACTS, HZ, ON)
NEEDS = needed_programs(FACTS, CLASSIFICATION, ON)


def payload(need: Need, c: Classification = CLASSIFICATION, **kw: Any) -> dict[str, Any]:
    return referral_payload(need, c, kw.pop("facts", FACTS), referral_id="r-1", due_at=DUE, **kw)


def test_the_sample_household_grounds_many_programs() -> None:
    assert CLASSIFICATION.tier is Tier.DIBAO
    assert set(NEEDS) == {
        Program.MINIMUM_LIVING_ALLOWANCE,
        Program.MEDICAL_ASSISTANCE,
        Program.EDUCATION_ASSISTANCE,
        Program.HOUSING_ASSISTANCE,
        Program.EMPLOYMENT_ASSISTANCE,
        Program.DISASTER_RELIEF,
        Program.DISABILITY_NURSING_SUBSIDY,
        Program.DISABILITY_LIVING_SUBSIDY,
        Program.CHILD_CARE_SERVICE,
    }


def test_every_department_has_an_allowlist_with_the_common_fields() -> None:
    assert set(ALLOWLIST) == set(Department)
    for allowed in ALLOWLIST.values():
        assert allowed >= COMMON
        assert {"program", "referral_id", "due_at", "members", "tier", "region_code"} <= allowed


def test_program_member_fields_cover_every_program() -> None:
    assert set(PROGRAM_MEMBER_FIELDS) == set(Program)


@pytest.mark.parametrize("program", sorted(NEEDS))
def test_an_amendment_discloses_what_the_issue_would_and_no_more(program: Program) -> None:
    need = NEEDS[program]
    body = amended_payload(need, FACTS, referral_id="r-1", reason="re-screening")
    assert set(body) == set(ReferralAmended.model_fields)
    issued = payload(need)
    assert (body["members"], body["grounds"]) == (issued["members"], issued["grounds"])
    assert disclosed_fields(body) <= ALLOWLIST[need.department]


@pytest.mark.parametrize("program", sorted(NEEDS))
def test_payloads_disclose_only_allowed_fields(program: Program) -> None:
    need = NEEDS[program]
    body = payload(need)
    assert disclosed_fields(body) <= ALLOWLIST[need.department]
    member_keys = {k for m in body["members"] for k in m}
    assert member_keys <= {"person_id", "name"} | PROGRAM_MEMBER_FIELDS[program]
    # Nothing the rules produced is lost on the way: every ground is the department's to see.
    assert body["grounds"] == need.grounds
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize("program", sorted(NEEDS))
def test_payload_head(program: Program) -> None:
    need = NEEDS[program]
    body = payload(need)
    assert body["referral_id"] == "r-1"
    assert body["program"] == program.value
    assert body["department"] == need.department.value
    assert body["due_at"] == "2026-06-11T08:00:00+00:00"
    assert body["region_code"] == "330100"
    assert body["tier"] == "DIBAO"
    assert [m["person_id"] for m in body["members"]] == list(need.members)


def test_medical_security_sees_medical_facts_but_no_deposits_or_income() -> None:
    body = payload(NEEDS[Program.MEDICAL_ASSISTANCE])
    text = json.dumps(body)
    assert body["grounds"]["medical_expenses_12m"] == "15000.25"
    assert body["grounds"]["chronically_ill_members"] == "1"
    parent = body["members"][0]
    assert parent == {
        "person_id": PARENT.person_id,
        "name": PARENT.name,
        "birth_date": "1981-06-01",
        "chronic_illness": True,
        "disability_grade": None,
    }
    for hidden in ("deposits", "monthly_income", "12000", "900.50", "education_expenses"):
        assert hidden not in text


def test_education_sees_only_the_school_children() -> None:
    body = payload(NEEDS[Program.EDUCATION_ASSISTANCE])
    assert body["members"] == [
        {
            "person_id": PUPIL.person_id,
            "name": PUPIL.name,
            "birth_date": "2014-06-01",
            "in_school": True,
        }
    ]
    assert body["grounds"]["education_expenses_12m"] == "800"
    assert "medical_expenses_12m" not in body["grounds"]


def test_housing_sees_who_lives_there_and_why() -> None:
    body = payload(NEEDS[Program.HOUSING_ASSISTANCE])
    assert all(set(m) == {"person_id", "name"} for m in body["members"])
    assert body["grounds"]["dwelling_unsafe"] == "true"


def test_human_resources_sees_the_jobless_members_capacity() -> None:
    body = payload(NEEDS[Program.EMPLOYMENT_ASSISTANCE])
    assert body["members"] == [
        {
            "person_id": JOBLESS.person_id,
            "name": JOBLESS.name,
            "birth_date": "2004-06-01",
            "employment_status": "unemployed",
            "labour_capacity": "full",
        }
    ]


def test_civil_affairs_sees_incomes_as_strings() -> None:
    body = payload(NEEDS[Program.MINIMUM_LIVING_ALLOWANCE])
    incomes = [m["monthly_income"] for m in body["members"]]
    assert incomes == ["900.50", "0", "0", "0"]
    assert body["grounds"]["per_capita_income"] == "225.125"
    assert body["grounds"]["dibao_standard"] == "1240"


def test_disabled_persons_federation_sees_grades_only() -> None:
    body = payload(NEEDS[Program.DISABILITY_NURSING_SUBSIDY])
    assert body["members"] == [
        {
            "person_id": DISABLED.person_id,
            "name": DISABLED.name,
            "birth_date": "1956-06-01",
            "disability_grade": 2,
        }
    ]


def test_a_transferred_need_is_filtered_by_the_receiving_department() -> None:
    medical = NEEDS[Program.MEDICAL_ASSISTANCE]
    body = payload(replace(medical, department=Department.HOUSING))
    assert disclosed_fields(body) <= ALLOWLIST[Department.HOUSING]
    assert "medical_expenses_12m" not in body["grounds"]
    assert all(set(m) == {"person_id", "name"} for m in body["members"])


def test_charity_sees_the_declined_program_and_names_only() -> None:
    need = charity_linkage_need(
        Program.HOUSING_ASSISTANCE, Department.HOUSING, (PARENT.person_id,), CLASSIFICATION
    )
    body = payload(need)
    assert disclosed_fields(body) <= ALLOWLIST[Department.CHARITY]
    assert body["members"] == [{"person_id": PARENT.person_id, "name": PARENT.name}]
    assert body["grounds"]["declined_program"] == "housing_assistance"


def test_due_at_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="zone-aware"):
        referral_payload(
            NEEDS[Program.HOUSING_ASSISTANCE],
            CLASSIFICATION,
            FACTS,
            referral_id="r",
            due_at=datetime(2026, 6, 11),
        )


def test_a_need_naming_a_stranger_is_refused() -> None:
    stranger = replace(NEEDS[Program.HOUSING_ASSISTANCE], members=("nobody",))
    with pytest.raises(KeyError, match="nobody"):
        payload(stranger)


def test_disclosed_fields_lists_nested_paths() -> None:
    body = {"tier": "DIBAO", "grounds": {"tag": "x"}, "members": [{"person_id": "p", "name": "n"}]}
    assert disclosed_fields(body) == {
        "tier",
        "grounds",
        "members",
        "grounds.tag",
        "members.person_id",
        "members.name",
    }


specs = st.fixed_dictionaries(
    {
        "age": st.sampled_from([10, 15, 17, 30, 59, 65]),
        "monthly_income": st.sampled_from([Decimal(0), Decimal("700.10"), Decimal(3000)]),
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


@given(
    st.lists(specs, min_size=1, max_size=4),
    st.sampled_from([Decimal(0), Decimal(500)]),
    st.booleans(),
    st.sampled_from(EMERGENCY_KINDS),
)
def test_no_payload_ever_leaves_its_allowlist(
    members: list[dict[str, Any]], medical: Decimal, unsafe: bool, kind: SignalKind
) -> None:
    facts = replace(
        FACTS,
        members=tuple(person(**spec) for spec in members),
        medical_expenses_12m=medical,
        dwelling_unsafe=unsafe,
        emergencies=(Emergency(kind, ON),),
    )
    c = classify(facts, HZ, ON)
    for need in needed_programs(facts, c, ON).values():
        body = payload(need, c, facts=facts)
        assert disclosed_fields(body) <= ALLOWLIST[need.department]
        assert body["grounds"] == need.grounds
        for member in body["members"]:
            assert set(member) <= {"person_id", "name"} | PROGRAM_MEMBER_FIELDS[need.program]
            assert not any(isinstance(v, Decimal | float | date) for v in member.values())
