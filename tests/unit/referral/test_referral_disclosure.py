"""A referral tells its department only what that department needs: need-to-know, per program.

The oracle here is written out by hand for a household of 14 members with every flag: for each
program, exactly which members its department receives and exactly which of their fields, so a
change of the table (services/referral/domain/need_to_know.py) shows up as a change of these
expectations, not only of the code.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.codec import decode_event
from events.envelope import new_event
from events.identity import make_resident_id
from events.referral import ReferralAmended, ReferralIssued, ReferredMember
from events.types import Department, EmploymentStatus, LabourCapacity, Program, Relation, SignalKind
from services.referral.domain.disclosure import (
    ALLOWLIST,
    COMMON,
    HOUSEHOLD_REF_PURPOSE,
    NOT_GOVERNMENT,
    amended_payload,
    disclosed_fields,
    household_ref,
    referral_payload,
)
from services.referral.domain.need_to_know import (
    BASE_GROUNDS,
    IDENTITY,
    MEMBER_ATTRIBUTES,
    MEMBERS_CONCERNED,
    NEED_FIGURES,
    NEED_TO_KNOW,
    Who,
)
from services.rules import (
    EMERGENCY_KINDS,
    Classification,
    Emergency,
    HouseholdFacts,
    Member,
    PolicyBook,
    Tier,
    classify,
)
from services.rules.programs import (
    PROGRAM_DEPARTMENT,
    Need,
    charity_linkage_need,
    needed_programs,
)

P = Program
ON = date(2026, 6, 1)
HZ = PolicyBook.load_default().in_force("330100", ON)
DUE = datetime(2026, 6, 11, 8, 0, tzinfo=UTC)
# An 18-character resident id anywhere in a text (not inside a longer run of letters/digits).
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")

# A local stand-in for the deployment's keyed pseudonym (services/runtime wires the real one).
TEST_KEY = b"need-to-know unit-test key, not a secret"


def pseudonym(value: str) -> str:
    return hmac.new(TEST_KEY, value.encode(), hashlib.sha256).hexdigest()[:32]


_serial = itertools.count(1)


def person(age: int, relation: Relation = Relation.OTHER, days: int = 0, **kw: Any) -> Member:
    """A member `age` years old on ON (`days` later born: that many days younger)."""
    birth = date(ON.year - age, ON.month, ON.day) + timedelta(days=days)
    n = next(_serial)
    base = Member(
        person_id=make_resident_id("330100", birth, n % 1000),
        name=f"{relation.value.title()} No.{n}",
        birth_date=birth,
        relation=relation,
        monthly_income=Decimal(0),
        labour_capacity=LabourCapacity.FULL,
        employment_status=EmploymentStatus.EMPLOYED,
    )
    return replace(base, **kw)


R, U, NO = Relation, EmploymentStatus, LabourCapacity.NONE
# Fourteen members, every flag, and someone just outside each age bound.
HEAD = person(45, R.HEAD, monthly_income=Decimal("900.50"), chronic_illness=True)
SPOUSE = person(43, R.SPOUSE, employment_status=U.UNEMPLOYED)  # a jobseeker
GRANDFATHER = person(
    72, R.PARENT, disability_grade=1, labour_capacity=NO, employment_status=U.RETIRED
)
GRANDMOTHER = person(
    68,
    R.PARENT,
    disability_grade=3,
    chronic_illness=True,
    labour_capacity=NO,
    employment_status=U.RETIRED,
)
SON = person(22, R.CHILD, labour_capacity=LabourCapacity.PARTIAL, employment_status=U.UNEMPLOYED)
STUDENT = person(19, R.CHILD, in_school=True, labour_capacity=NO, employment_status=U.STUDENT)
TEEN = person(16, R.CHILD, days=-30, in_school=True, left_behind=True, employment_status=U.STUDENT)
PUPIL = person(12, R.CHILD, in_school=True, left_behind=True, employment_status=U.STUDENT)
ORPHAN = person(10, R.OTHER, in_school=True, orphan=True, employment_status=U.STUDENT)
NIECE = person(
    8,
    R.OTHER,
    in_school=True,
    left_behind=True,
    parents_unable_to_support=True,
    employment_status=U.STUDENT,
)
TODDLER = person(3, R.CHILD, labour_capacity=NO, employment_status=U.NONE)
UNCLE = person(55, R.OTHER, disability_grade=2, labour_capacity=NO, employment_status=U.UNEMPLOYED)
COUSIN = person(30, R.OTHER, monthly_income=Decimal(1200))
AUNT = person(60, R.OTHER, employment_status=U.UNEMPLOYED)  # 60: no longer working age
MEMBERS = (
    HEAD,
    SPOUSE,
    GRANDFATHER,
    GRANDMOTHER,
    SON,
    STUDENT,
    TEEN,
    PUPIL,
    ORPHAN,
    NIECE,
    TODDLER,
    UNCLE,
    COUSIN,
    AUNT,
)
FACTS = HouseholdFacts(
    household_id="HH-LARGE",
    region_code="330100",
    members=MEMBERS,
    deposits=Decimal("12000"),
    residential_properties=1,
    medical_expenses_12m=Decimal("15000.25"),
    education_expenses_12m=Decimal("800"),
    dwelling_unsafe=True,
    emergencies=(Emergency(SignalKind.DISASTER, ON - timedelta(days=5)),),
)
CLASSIFICATION = classify(FACTS, HZ, ON)
NEEDS = needed_programs(FACTS, CLASSIFICATION, ON)

# Extremely poor, elderly alone: the two programs the large household cannot ground.
ELDER = person(
    75,
    R.HEAD,
    monthly_income=Decimal(500),
    labour_capacity=NO,
    employment_status=U.RETIRED,
    disability_grade=4,
)
ELDER_FACTS = HouseholdFacts(household_id="HH-ELDER", region_code="330100", members=(ELDER,))
ELDER_CLASSIFICATION = classify(ELDER_FACTS, HZ, ON)
ELDER_NEEDS = needed_programs(ELDER_FACTS, ELDER_CLASSIFICATION, ON)

# Well off until a fire: temporary assistance.
EARNER = person(40, R.HEAD, monthly_income=Decimal(20000))
CHILD = person(9, R.CHILD, in_school=True, employment_status=U.STUDENT)
FIRE = Emergency(SignalKind.MAJOR_ACCIDENT, ON - timedelta(days=3))
WELL_OFF = HouseholdFacts(
    household_id="HH-FIRE", region_code="330100", members=(EARNER, CHILD), emergencies=(FIRE,)
)
WELL_OFF_CLASSIFICATION = classify(WELL_OFF, HZ, ON)
WELL_OFF_NEEDS = needed_programs(WELL_OFF, WELL_OFF_CLASSIFICATION, ON)


def _charity(declined: Program = P.HOUSING_ASSISTANCE) -> Need:
    base = NEEDS[declined]
    need = charity_linkage_need(declined, base.department, base.members, CLASSIFICATION)
    # As the handler links it: with the declined referral's figures (base grounds its own).
    return replace(need, grounds={**base.grounds, **need.grounds})


# program -> (need, facts, classification)
CASES: dict[Program, tuple[Need, HouseholdFacts, Classification]] = {
    **{p: (n, FACTS, CLASSIFICATION) for p, n in NEEDS.items()},
    P.EXTREME_POVERTY_SUPPORT: (
        ELDER_NEEDS[P.EXTREME_POVERTY_SUPPORT],
        ELDER_FACTS,
        ELDER_CLASSIFICATION,
    ),
    P.ELDERLY_MEAL_ASSISTANCE: (
        ELDER_NEEDS[P.ELDERLY_MEAL_ASSISTANCE],
        ELDER_FACTS,
        ELDER_CLASSIFICATION,
    ),
    P.TEMPORARY_ASSISTANCE: (
        WELL_OFF_NEEDS[P.TEMPORARY_ASSISTANCE],
        WELL_OFF,
        WELL_OFF_CLASSIFICATION,
    ),
    P.CHARITY_LINKAGE: (_charity(), FACTS, CLASSIFICATION),
}

ID = {"person_id", "name"}
# The oracle: program -> (the members disclosed, their fields, the grounds beyond BASE_GROUNDS).
EXPECTED: dict[Program, tuple[tuple[Member, ...], set[str], set[str]]] = {
    P.EXTREME_POVERTY_SUPPORT: (
        (ELDER,),
        ID | {"birth_date", "monthly_income", "labour_capacity", "disability_grade"},
        {"per_capita_income", "dibao_standard", "household_size"},
    ),
    P.MINIMUM_LIVING_ALLOWANCE: (
        MEMBERS,
        ID | {"birth_date", "monthly_income"},
        {"per_capita_income", "dibao_standard", "household_size"},
    ),
    P.MEDICAL_ASSISTANCE: (
        MEMBERS,
        ID | {"chronic_illness"},
        {"medical_expenses_12m", "chronically_ill_members"},
    ),
    P.EDUCATION_ASSISTANCE: (
        (STUDENT, TEEN, PUPIL, ORPHAN, NIECE),
        ID | {"birth_date", "in_school"},
        {"education_expenses_12m"},
    ),
    P.HOUSING_ASSISTANCE: ((HEAD,), ID, {"dwelling_unsafe", "members_concerned"}),
    P.EMPLOYMENT_ASSISTANCE: (
        (SPOUSE, SON),
        ID | {"birth_date", "labour_capacity", "employment_status"},
        set(),
    ),
    P.TEMPORARY_ASSISTANCE: (
        (EARNER,),
        ID,
        {"emergency_kind", "emergency_on", "members_concerned"},
    ),
    P.DISASTER_RELIEF: ((HEAD,), ID, {"disaster_on", "members_concerned"}),
    P.DISABILITY_NURSING_SUBSIDY: ((GRANDFATHER, UNCLE), ID | {"disability_grade"}, {"tag"}),
    P.DISABILITY_LIVING_SUBSIDY: (
        (GRANDFATHER, GRANDMOTHER, UNCLE),
        ID | {"disability_grade"},
        {"tag"},
    ),
    P.ORPHAN_BASIC_LIVING: ((ORPHAN,), ID | {"birth_date", "orphan"}, {"tag"}),
    P.UNSUPPORTED_CHILD_ALLOWANCE: (
        (NIECE,),
        ID | {"birth_date", "parents_unable_to_support"},
        {"tag"},
    ),
    P.CHILD_CARE_SERVICE: (
        (PUPIL, NIECE),
        ID | {"birth_date", "left_behind", "in_school"},
        {"tag"},
    ),
    P.ELDERLY_MEAL_ASSISTANCE: ((ELDER,), ID | {"birth_date"}, {"tag"}),
    P.CHARITY_LINKAGE: (
        (),
        set(),
        {
            "declined_program",
            "declined_by",
            "decline_reason",
            "members_concerned",
            "dwelling_unsafe",
        },
    ),
}


def issued(program: Program, **kw: Any) -> dict[str, Any]:
    need, facts, classification = CASES[program]
    kw.setdefault("pseudonym", pseudonym)
    return referral_payload(need, classification, facts, referral_id="r-1", due_at=DUE, **kw)


def amended(program: Program, **kw: Any) -> dict[str, Any]:
    need, facts, _ = CASES[program]
    kw.setdefault("pseudonym", pseudonym)
    return amended_payload(need, facts, referral_id="r-1", reason="re-screening", **kw)


def wire_bytes(payload: dict[str, Any], model: type[ReferralIssued | ReferralAmended]) -> bytes:
    """The bytes a department receives for this payload: validated, enveloped, canonical."""
    event = new_event(
        model.model_validate(payload),
        household_id="HH-X",
        producer="referral",
        occurred_at=DUE,
    )
    return event.to_bytes()


# -- the table ---------------------------------------------------------------------------------


def test_the_households_ground_every_program() -> None:
    assert CLASSIFICATION.tier is Tier.DIBAO
    assert ELDER_CLASSIFICATION.tier is Tier.EXTREMELY_POOR
    assert WELL_OFF_CLASSIFICATION.tier is Tier.TEMPORARY
    assert set(CASES) == set(Program) == set(EXPECTED)
    assert len(FACTS.members) == 14


def test_every_program_has_one_row_for_its_own_department_with_a_reason() -> None:
    assert set(NEED_TO_KNOW) == set(Program)
    for program, row in NEED_TO_KNOW.items():
        assert row.department is PROGRAM_DEPARTMENT[program]
        assert row.member_fields <= MEMBER_ATTRIBUTES <= set(ReferredMember.model_fields)
        assert len(row.reason) > 80, program
        assert row.all_grounds >= BASE_GROUNDS
        # A member is disclosed with who they are, or not at all.
        assert (row.members is Who.NOBODY) == (not row.member_fields), program
        if row.member_fields:
            assert row.member_fields >= IDENTITY


def test_charity_row_grounds_are_the_decline_and_the_figures() -> None:
    row = NEED_TO_KNOW[P.CHARITY_LINKAGE]
    decline = {"declined_program", "declined_by", "decline_reason", MEMBERS_CONCERNED}
    assert row.grounds == decline | NEED_FIGURES
    assert NOT_GOVERNMENT == {Department.CHARITY}


def test_every_department_has_a_ceiling_built_from_its_programs() -> None:
    assert set(ALLOWLIST) == set(Department)
    for department, allowed in ALLOWLIST.items():
        assert allowed >= COMMON
        assert {"program", "referral_id", "due_at", "members", "tier", "region_code"} <= allowed
        rows = [r for r in NEED_TO_KNOW.values() if r.department is department]
        fields = {f"members.{f}" for r in rows for f in r.member_fields}
        grounds = {f"grounds.{g}" for r in rows for g in r.all_grounds}
        assert {p for p in allowed if p.startswith("members.")} == fields
        assert {p for p in allowed if p.startswith("grounds.")} == grounds
        assert ("household_ref" in allowed) == (department in NOT_GOVERNMENT)


def test_charity_may_never_see_a_member() -> None:
    allowed = ALLOWLIST[Department.CHARITY]
    assert not {p for p in allowed if p.startswith("members.")}
    assert "household_ref" in allowed


# -- each program discloses exactly its row ----------------------------------------------------


@pytest.mark.parametrize("program", sorted(Program))
def test_each_program_discloses_exactly_its_members_and_fields(program: Program) -> None:
    members, fields, grounds = EXPECTED[program]
    need = CASES[program][0]
    body = issued(program)
    assert [m["person_id"] for m in body["members"]] == [m.person_id for m in members]
    assert [m["name"] for m in body["members"]] == [m.name for m in members]
    for member in body["members"]:
        assert set(member) == fields, program
    assert set(body["grounds"]) == grounds | BASE_GROUNDS
    for key in set(body["grounds"]) - {MEMBERS_CONCERNED}:
        assert body["grounds"][key] == need.grounds[key]  # the rules' own figures, untouched
    if MEMBERS_CONCERNED in grounds:
        assert body["grounds"][MEMBERS_CONCERNED] == str(len(need.members))
    assert disclosed_fields(body) <= ALLOWLIST[need.department]
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize("program", sorted(Program))
def test_an_amendment_discloses_what_the_issue_would_and_no_more(program: Program) -> None:
    body = amended(program, on=ON)
    assert set(body) <= set(ReferralAmended.model_fields)
    first = issued(program)
    assert (body["members"], body["grounds"]) == (first["members"], first["grounds"])
    assert body.get("household_ref") == first.get("household_ref")
    assert disclosed_fields(body) <= ALLOWLIST[CASES[program][0].department]
    ReferralAmended.model_validate(body)


@pytest.mark.parametrize("program", sorted(Program))
def test_what_a_department_receives_holds_nothing_else(program: Program) -> None:
    """On the wire (None left out): each member's keys within the row, and no other member."""
    members, fields, _ = EXPECTED[program]
    for model, body in ((ReferralIssued, issued(program)), (ReferralAmended, amended(program))):
        document = json.loads(wire_bytes(body, model))["payload"]
        assert {m["person_id"] for m in document.get("members", [])} == {
            m.person_id for m in members
        }
        for member in document.get("members", []):
            assert IDENTITY <= set(member) <= fields
        text = json.dumps(document)
        others = [m for m in (*MEMBERS, ELDER, EARNER, CHILD) if m not in members]
        for other in others:
            assert other.person_id not in text, (program, other.name)


def test_housing_gets_the_head_and_the_head_count_not_fourteen_members() -> None:
    body = issued(P.HOUSING_ASSISTANCE)
    assert body["members"] == [{"person_id": HEAD.person_id, "name": HEAD.name}]
    assert body["grounds"]["dwelling_unsafe"] == "true"
    assert body["grounds"]["members_concerned"] == "14"


def test_medical_security_sees_illness_but_no_money_age_or_grade() -> None:
    body = issued(P.MEDICAL_ASSISTANCE)
    text = json.dumps(body)
    assert body["grounds"]["medical_expenses_12m"] == "15000.25"
    assert body["grounds"]["chronically_ill_members"] == "2"
    assert body["members"][0] == {
        "person_id": HEAD.person_id,
        "name": HEAD.name,
        "chronic_illness": True,
    }
    for hidden in ("deposits", "monthly_income", "12000", "900.50", "birth_date", "disability"):
        assert hidden not in text


def test_civil_affairs_sees_incomes_as_strings_for_the_allowance() -> None:
    body = issued(P.MINIMUM_LIVING_ALLOWANCE)
    incomes = [m["monthly_income"] for m in body["members"]]
    assert incomes == ["900.50"] + ["0"] * 11 + ["1200", "0"]
    assert body["grounds"]["per_capita_income"] == "150.0357142857142857142857143"
    assert body["grounds"]["household_size"] == "14"
    assert all("labour_capacity" not in m and "disability_grade" not in m for m in body["members"])


def test_extreme_poverty_sees_the_facts_of_its_per_person_test() -> None:
    [elder] = issued(P.EXTREME_POVERTY_SUPPORT)["members"]
    assert elder == {
        "person_id": ELDER.person_id,
        "name": ELDER.name,
        "birth_date": "1951-06-01",
        "monthly_income": "500",
        "labour_capacity": "none",
        "disability_grade": 4,
    }


def test_human_resources_sees_working_age_jobseekers_only() -> None:
    body = issued(P.EMPLOYMENT_ASSISTANCE)
    assert body["members"][0] == {
        "person_id": SPOUSE.person_id,
        "name": SPOUSE.name,
        "birth_date": "1983-06-01",
        "employment_status": "unemployed",
        "labour_capacity": "full",
    }
    ids = {m["person_id"] for m in body["members"]}
    assert AUNT.person_id not in ids and UNCLE.person_id not in ids  # aged 60; no capacity


def test_the_federation_sees_grades_only() -> None:
    body = issued(P.DISABILITY_NURSING_SUBSIDY)
    assert body["members"] == [
        {"person_id": GRANDFATHER.person_id, "name": GRANDFATHER.name, "disability_grade": 1},
        {"person_id": UNCLE.person_id, "name": UNCLE.name, "disability_grade": 2},
    ]


def test_temporary_assistance_gets_the_contact_and_the_emergency() -> None:
    body = issued(P.TEMPORARY_ASSISTANCE)
    assert body["members"] == [{"person_id": EARNER.person_id, "name": EARNER.name}]
    assert body["grounds"]["emergency_kind"] == "major_accident"
    assert body["grounds"]["emergency_on"] == "2026-05-29"
    assert body["grounds"]["members_concerned"] == "2"


# -- the table is enforced, not trusted ----------------------------------------------------------


@pytest.mark.parametrize("program", sorted(set(Program) - {P.CHARITY_LINKAGE}))
def test_a_need_naming_everyone_still_discloses_only_the_row(program: Program) -> None:
    """Whatever members a need names, only those the row chooses appear."""
    need, facts, classification = CASES[program]
    everyone = replace(need, members=tuple(m.person_id for m in facts.members))
    body = referral_payload(everyone, classification, facts, referral_id="r", due_at=DUE)
    expected, _, _ = EXPECTED[program]
    assert [m["person_id"] for m in body["members"]] == [m.person_id for m in expected]


def test_ages_are_judged_at_the_evaluation_date() -> None:
    need = replace(
        NEEDS[P.EMPLOYMENT_ASSISTANCE], members=(SPOUSE.person_id, AUNT.person_id)
    )  # the aunt is 60: a need naming her is wrong, and she is not disclosed
    body = referral_payload(need, CLASSIFICATION, FACTS, referral_id="r", due_at=DUE)
    assert [m["person_id"] for m in body["members"]] == [SPOUSE.person_id]
    # Without a date, the amendment still checks what does not depend on it.
    loose = amended_payload(need, FACTS, referral_id="r", reason="x")
    assert [m["person_id"] for m in loose["members"]] == [SPOUSE.person_id, AUNT.person_id]
    strict = amended_payload(need, FACTS, referral_id="r", reason="x", on=ON)
    assert [m["person_id"] for m in strict["members"]] == [SPOUSE.person_id]
    jobless_child = replace(need, members=(STUDENT.person_id,))  # no labour capacity
    assert amended_payload(jobless_child, FACTS, referral_id="r", reason="x")["members"] == []


def test_the_contact_is_the_head_or_else_the_eldest() -> None:
    no_head = replace(FACTS, members=tuple(m for m in MEMBERS if m is not HEAD))
    need = replace(NEEDS[P.HOUSING_ASSISTANCE], members=tuple(m.person_id for m in no_head.members))
    body = referral_payload(need, CLASSIFICATION, no_head, referral_id="r", due_at=DUE)
    assert body["members"] == [{"person_id": GRANDFATHER.person_id, "name": GRANDFATHER.name}]
    assert body["grounds"]["members_concerned"] == "13"


def test_a_transferred_need_is_narrowed_to_the_receiving_department() -> None:
    medical = NEEDS[P.MEDICAL_ASSISTANCE]
    body = referral_payload(
        replace(medical, department=Department.HOUSING),
        CLASSIFICATION,
        FACTS,
        referral_id="r",
        due_at=DUE,
    )
    assert disclosed_fields(body) <= ALLOWLIST[Department.HOUSING]
    assert "medical_expenses_12m" not in body["grounds"]
    assert all(set(m) == ID for m in body["members"])


# -- charity -----------------------------------------------------------------------------------


def _scan_for_identities(data: bytes, members: tuple[Member, ...]) -> None:
    text = data.decode()
    assert not RESIDENT_ID.search(text), RESIDENT_ID.search(text)
    for m in members:
        assert m.person_id not in text
        assert m.name not in text
        assert m.birth_date.isoformat() not in text
        assert m.person_id[6:14] not in text  # the birth date inside the id, too


@pytest.mark.parametrize("declined", sorted(NEEDS))
def test_charity_gets_a_reference_and_the_need_never_an_identity(declined: Program) -> None:
    need = _charity(declined)
    body = referral_payload(
        need, CLASSIFICATION, FACTS, referral_id="r", due_at=DUE, pseudonym=pseudonym
    )
    assert body["members"] == []
    assert body["household_ref"] == pseudonym(f"{HOUSEHOLD_REF_PURPOSE}:HH-LARGE")
    assert body["household_ref"] == household_ref("HH-LARGE", pseudonym)
    assert body["grounds"]["declined_program"] == declined.value
    assert body["grounds"]["members_concerned"] == str(len(NEEDS[declined].members))
    assert body["region_code"] == "330100" and body["tier"] == "DIBAO"
    # The declined need's figures, as its department had them.
    declined_figures = set(NEEDS[declined].grounds) & NEED_FIGURES
    for key in declined_figures:
        assert body["grounds"][key] == NEEDS[declined].grounds[key]
    assert disclosed_fields(body) <= ALLOWLIST[Department.CHARITY]
    for model, payload in ((ReferralIssued, body), (ReferralAmended, amended_like(body))):
        _scan_for_identities(wire_bytes(payload, model), MEMBERS)


def amended_like(body: dict[str, Any]) -> dict[str, Any]:
    keep = {"referral_id", "program", "department", "members", "grounds", "household_ref"}
    return {k: v for k, v in body.items() if k in keep} | {"reason": "re-screening"}


def test_charity_figures_of_a_dibao_need() -> None:
    body = referral_payload(
        _charity(P.MINIMUM_LIVING_ALLOWANCE),
        CLASSIFICATION,
        FACTS,
        referral_id="r",
        due_at=DUE,
        pseudonym=pseudonym,
    )
    assert body["grounds"] == {
        "tier": "DIBAO",
        "policy_version": CLASSIFICATION.policy_version,
        "rule": "a department declined a referral as not_covered",
        "declined_program": "minimum_living_allowance",
        "declined_by": "civil_affairs",
        "decline_reason": "not_covered",
        "members_concerned": "14",
        "per_capita_income": "150.0357142857142857142857143",
        "dibao_standard": "1240",
        "household_size": "14",
    }


def test_any_program_transferred_to_charity_is_anonymised() -> None:
    for program, (need, facts, classification) in CASES.items():
        to_charity = replace(need, department=Department.CHARITY)
        body = referral_payload(
            to_charity, classification, facts, referral_id="r", due_at=DUE, pseudonym=pseudonym
        )
        assert body["members"] == [], program
        assert disclosed_fields(body) <= ALLOWLIST[Department.CHARITY], program
        _scan_for_identities(wire_bytes(body, ReferralIssued), facts.members)


def test_without_a_pseudonym_charity_gets_no_reference_and_still_no_identity() -> None:
    body = issued(P.CHARITY_LINKAGE, pseudonym=None)
    assert "household_ref" not in body and body["members"] == []
    _scan_for_identities(wire_bytes(body, ReferralIssued), MEMBERS)


def test_the_reference_is_keyed_stable_and_per_household() -> None:
    ref = household_ref("HH-LARGE", pseudonym)
    assert ref == household_ref("HH-LARGE", pseudonym)
    assert ref != household_ref("HH-OTHER", pseudonym)
    other_key = household_ref(
        "HH-LARGE", lambda v: hmac.new(b"k2", v.encode(), "sha256").hexdigest()
    )
    assert ref != other_key[:32]
    assert "HH-LARGE" not in ref


def test_a_referral_with_a_reference_names_no_member() -> None:
    body = issued(P.CHARITY_LINKAGE) | {
        "members": [{"person_id": HEAD.person_id, "name": HEAD.name}]
    }
    with pytest.raises(ValueError, match="names no member"):
        ReferralIssued.model_validate(body)
    with pytest.raises(ValueError, match="names no member"):
        ReferralAmended.model_validate(amended_like(body))


def test_a_charity_referral_written_before_the_reference_still_reads() -> None:
    """Older events named the members to charity: still readable (the chain is forever)."""
    old = {
        "referral_id": "r-old",
        "program": "charity_linkage",
        "department": "charity",
        "due_at": DUE.isoformat(),
        "region_code": "330100",
        "tier": "DIBAO",
        "members": [{"person_id": HEAD.person_id, "name": HEAD.name}],
        "grounds": {"declined_program": "housing_assistance"},
    }
    event = new_event(
        ReferralIssued.model_validate(old),
        household_id="HH-X",
        producer="referral",
        occurred_at=DUE,
    )
    again = decode_event(event.to_bytes())
    assert isinstance(again.payload, ReferralIssued)
    assert again.payload.household_ref is None
    assert again.payload.members[0].person_id == HEAD.person_id


# -- odds and ends -----------------------------------------------------------------------------


def test_due_at_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="zone-aware"):
        referral_payload(
            NEEDS[P.HOUSING_ASSISTANCE],
            CLASSIFICATION,
            FACTS,
            referral_id="r",
            due_at=datetime(2026, 6, 11),
        )


def test_a_need_naming_a_stranger_is_refused() -> None:
    stranger = replace(NEEDS[P.HOUSING_ASSISTANCE], members=("nobody",))
    with pytest.raises(KeyError, match="nobody"):
        referral_payload(stranger, CLASSIFICATION, FACTS, referral_id="r", due_at=DUE)


def test_disclosed_fields_lists_nested_paths_and_ignores_nulls() -> None:
    body = {
        "tier": "DIBAO",
        "transferred_from": None,
        "grounds": {"tag": "x"},
        "members": [{"person_id": "p", "name": "n", "disability_grade": None}],
    }
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
        "age": st.sampled_from([3, 10, 15, 16, 17, 18, 30, 59, 60, 65]),
        "relation": st.sampled_from(Relation),
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


def _member(spec: dict[str, Any]) -> Member:
    spec = dict(spec)
    return person(spec.pop("age"), spec.pop("relation"), **spec)


@given(
    st.lists(specs, min_size=1, max_size=6),
    st.sampled_from([Decimal(0), Decimal(500)]),
    st.booleans(),
    st.sampled_from(EMERGENCY_KINDS),
    st.sampled_from(Department),
)
def test_no_payload_ever_leaves_its_row(
    members: list[dict[str, Any]],
    medical: Decimal,
    unsafe: bool,
    kind: SignalKind,
    transfer_to: Department,
) -> None:
    facts = replace(
        FACTS,
        members=tuple(_member(spec) for spec in members),
        medical_expenses_12m=medical,
        dwelling_unsafe=unsafe,
        emergencies=(Emergency(kind, ON),),
    )
    c = classify(facts, HZ, ON)
    needs = list(needed_programs(facts, c, ON).values())
    needs += [replace(n, department=transfer_to) for n in needs]  # transferred anywhere
    everyone = tuple(m.person_id for m in facts.members)
    needs += [replace(n, members=everyone) for n in needs]  # needs naming too many
    for need in needs:
        row = NEED_TO_KNOW[need.program]
        body = referral_payload(need, c, facts, referral_id="r", due_at=DUE, pseudonym=pseudonym)
        assert disclosed_fields(body) <= ALLOWLIST[need.department]
        concerned = [facts.member(p) for p in need.members]
        allowed = {m.person_id for m in row.members.select(concerned, facts, ON)}
        for member in body["members"]:
            assert member["person_id"] in allowed
            assert set(member) <= row.member_fields
            assert not any(isinstance(v, Decimal | float | date) for v in member.values())
        assert set(body["grounds"]) <= row.all_grounds | {MEMBERS_CONCERNED}
        if need.department in NOT_GOVERNMENT:
            assert body["members"] == [] and "household_ref" in body
            _scan_for_identities(wire_bytes(body, ReferralIssued), facts.members)
        else:
            assert "household_ref" not in body
        ReferralIssued.model_validate(body)
