"""Need-to-know on the real broker: each department's topic carries, for each program, exactly
the members and fields of that program's row (need_to_know.py), for issued and amended
referrals alike; charity gets an anonymised reference and the facts of the need, never a
resident id, a name or a birth date. Driven over HTTP, read from the topics only.

Three households reach every program: fourteen members with every flag (DIBAO, an unsafe
dwelling, pupils, jobseekers, disabled, an orphan, an unsupported and left-behind children;
then a disaster, an unemployment, the head's death, and housing declined as not_covered, which
links charity), an elder alone (extremely poor), and a well-off family after an accident
(temporary assistance).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from households import household, person
from support.kafka_io import read_all
from support.system import System, of_type

from events.types import Department
from services.referral.domain.disclosure import ALLOWLIST, disclosed_fields
from services.referral.domain.need_to_know import NEED_TO_KNOW

# An 18-character resident id anywhere in a text (not inside a longer run of letters/digits,
# such as a hash).
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
TODAY = datetime.now(UTC).date()


def aged(years: int) -> date:
    """A birth date `years` years old today, the birthday 100 days past (no bound is near)."""
    birthday = date(TODAY.year - years, TODAY.month, min(TODAY.day, 28))
    return birthday - timedelta(days=100)


def large_household() -> dict[str, Any]:
    """Fourteen members, every flag, and someone just outside each age bound."""
    return household(
        [
            person(aged(45), "head", 900, "employed", chronic_illness=True),  # 0
            person(aged(43), "spouse", 0, "unemployed"),  # 1: jobseeker
            person(aged(72), "parent", 0, "retired", capacity="none", disability_grade=1),  # 2
            person(
                aged(68),
                "parent",
                0,
                "retired",
                capacity="none",
                disability_grade=3,
                chronic_illness=True,
            ),  # 3
            person(aged(22), "child", 0, "unemployed", capacity="partial"),  # 4: jobseeker
            person(aged(19), "child", 0, "student", capacity="none", in_school=True),  # 5
            person(aged(16), "child", 0, "student", in_school=True, left_behind=True),  # 6
            person(aged(12), "child", 0, "student", in_school=True, left_behind=True),  # 7
            person(aged(10), "other", 0, "student", in_school=True, orphan=True),  # 8
            person(
                aged(8),
                "other",
                0,
                "student",
                in_school=True,
                left_behind=True,
                parents_unable_to_support=True,
            ),  # 9
            person(aged(3), "child", 0, "none", capacity="none"),  # 10
            person(aged(55), "other", 0, "unemployed", capacity="none", disability_grade=2),  # 11
            person(aged(30), "other", 1200, "employed"),  # 12: registers as unemployed
            person(aged(60), "other", 0, "unemployed"),  # 13: 60, no longer working age
        ],
        dwelling_unsafe=True,
        rigid_expenses_12m={"medical": 4200, "education": 800},
    )


def elder_alone() -> dict[str, Any]:
    return household(
        [person(aged(75), "head", 500, "retired", capacity="none", disability_grade=4)],
        assets={"deposits": 0, "vehicles": 0, "residential_properties": 0},
    )


def well_off_family() -> dict[str, Any]:
    return household(
        [
            person(aged(40), "head", 20000, "employed"),
            person(aged(9), "child", 0, "student", capacity="none", in_school=True),
        ]
    )


ID = {"person_id", "name"}
# The oracle, written out by hand: program -> (member indices, their fields on the wire).
ISSUED: dict[str, tuple[list[int], set[str]]] = {
    "minimum_living_allowance": (list(range(14)), ID | {"birth_date", "monthly_income"}),
    "medical_assistance": (list(range(14)), ID | {"chronic_illness"}),
    "education_assistance": ([5, 6, 7, 8, 9], ID | {"birth_date", "in_school"}),
    "housing_assistance": ([0], ID),
    "employment_assistance": ([1, 4], ID | {"birth_date", "labour_capacity", "employment_status"}),
    "disaster_relief": ([0], ID),
    "disability_nursing_subsidy": ([2, 11], ID | {"disability_grade"}),
    "disability_living_subsidy": ([2, 3, 11], ID | {"disability_grade"}),
    "orphan_basic_living": ([8], ID | {"birth_date", "orphan"}),
    "unsupported_child_allowance": ([9], ID | {"birth_date", "parents_unable_to_support"}),
    "child_care_service": ([7, 9], ID | {"birth_date", "left_behind", "in_school"}),
    "charity_linkage": ([], set()),
}
# After the unemployment (member 12) and the head's death: the last amendment of each program.
AMENDED: dict[str, list[int]] = {
    "employment_assistance": [1, 4, 12],
    "minimum_living_allowance": list(range(1, 14)),
    "medical_assistance": list(range(1, 14)),
    "housing_assistance": [2],  # no head left: the eldest is the contact
    "disaster_relief": [2],
}
ELDER_ISSUED: dict[str, set[str]] = {
    "extreme_poverty_support": ID
    | {"birth_date", "monthly_income", "labour_capacity", "disability_grade"},
    "medical_assistance": ID | {"chronic_illness"},
    "elderly_meal_assistance": ID | {"birth_date"},
}


@dataclass
class Seen:
    bodies: dict[str, dict[str, Any]]  # "large" / "elder" / "well_off" -> application body
    ids: dict[str, str]  # the same -> household_id
    topics: dict[str, list[dict[str, Any]]]  # department -> its documents of these households
    charity_bytes: list[bytes]  # every record of the charity topic, key and value


def _signal(system: System, kind: str, person_id: str, source: str) -> None:
    reply = system.signal(
        {
            "kind": kind,
            "person_id": person_id,
            "region_code": "330100",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_department": source,
        }
    )
    assert reply.status_code == 202, reply.text


@pytest.fixture(scope="module")
def seen(system: System) -> Seen:
    bodies = {"large": large_household(), "elder": elder_alone(), "well_off": well_off_family()}
    ids = {}
    for name, body in bodies.items():
        reply = system.apply(body)
        assert reply.status_code == 202, reply.text
        ids[name] = reply.json()["household_id"]
    large = bodies["large"]["members"]

    def issued(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return of_type(chain, "ReferralIssued")

    def amended(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return of_type(chain, "ReferralAmended")

    async def scenario() -> Seen:
        await system.wait_chain(ids["large"], lambda c: len(issued(c)) >= 10, "10 referrals")
        await system.wait_chain(ids["elder"], lambda c: len(issued(c)) >= 3, "3 referrals")
        earner = bodies["well_off"]["members"][0]["person_id"]
        _signal(system, "major_accident", earner, "emergency_management")
        _signal(system, "disaster", large[0]["person_id"], "emergency_management")
        await system.wait_chain(ids["large"], lambda c: len(issued(c)) >= 11, "disaster relief")
        _signal(system, "unemployment_registered", large[12]["person_id"], "human_resources")
        await system.wait_chain(ids["large"], lambda c: len(amended(c)) >= 1, "amended jobs")
        _signal(system, "death_of_member", large[0]["person_id"], "civil_affairs")
        chain = await system.wait_chain(
            ids["large"], lambda c: len(amended(c)) >= 5, "amendments after the death"
        )
        housing = next(
            d["payload"] for d in issued(chain) if d["payload"]["program"] == "housing_assistance"
        )
        reply = system.feedback(
            housing["referral_id"], "housing", {"outcome": "DECLINED", "reason": "not_covered"}
        )
        assert reply.status_code == 202, reply.text
        await system.wait_chain(ids["large"], lambda c: len(issued(c)) >= 12, "charity linked")
        await system.wait_chain(ids["well_off"], lambda c: len(issued(c)) >= 1, "temporary")

        mine = set(ids.values())

        async def all_topics() -> dict[str, list[dict[str, Any]]] | None:
            found = {
                d.value: [
                    e for e in await system.department_topic(d.value) if e["household_id"] in mine
                ]
                for d in Department
            }
            counts = {d: len(found[d]) for d in found}
            # 12 + 3 + 1 referrals issued, 5 amended: 21 in all once every copy is there.
            return found if all(counts.values()) and sum(counts.values()) >= 21 else None

        topics: dict[str, list[dict[str, Any]]] = await system.wait_until(
            all_topics, "every referral on its department's topic"
        )
        records = await read_all(system.kafka, system.topics.referrals("charity"))
        charity = [(r.key or b"") + b"\n" + r.value for r in records]
        return Seen(bodies, ids, topics, charity)

    return asyncio.run(scenario())


def _of(seen: Seen, name: str, event_type: str) -> list[dict[str, Any]]:
    return [
        e["payload"]
        for events in seen.topics.values()
        for e in events
        if e["household_id"] == seen.ids[name] and e["event_type"] == event_type
    ]


def _ids(seen: Seen, name: str, indices: list[int]) -> list[str]:
    members = seen.bodies[name]["members"]
    return sorted(members[i]["person_id"] for i in indices)


@pytest.mark.parametrize("department", [d.value for d in Department])
def test_department_receives_only_its_allowlisted_fields(seen: Seen, department: str) -> None:
    events = [e for e in seen.topics[department] if e["event_type"].startswith("Referral")]
    assert events, f"no referral reached {department}"
    allowed = ALLOWLIST[Department(department)]
    for event in events:
        payload = event["payload"]
        assert payload["department"] == department
        if event["event_type"] in ("ReferralIssued", "ReferralAmended"):
            assert disclosed_fields(payload) <= allowed, disclosed_fields(payload) - allowed


@pytest.mark.parametrize("program", sorted(ISSUED))
def test_each_program_issues_exactly_its_members_and_fields(seen: Seen, program: str) -> None:
    indices, fields = ISSUED[program]
    [payload] = [p for p in _of(seen, "large", "ReferralIssued") if p["program"] == program]
    assert sorted(m["person_id"] for m in payload["members"]) == _ids(seen, "large", indices)
    for member in payload["members"]:
        assert set(member) == fields, (program, set(member) ^ fields)
    row = NEED_TO_KNOW[next(p for p in NEED_TO_KNOW if p.value == program)]
    assert set(payload["grounds"]) <= row.all_grounds


@pytest.mark.parametrize("program", sorted(AMENDED))
def test_each_amendment_discloses_exactly_its_members_and_fields(seen: Seen, program: str) -> None:
    _, fields = ISSUED[program]
    amendments = [p for p in _of(seen, "large", "ReferralAmended") if p["program"] == program]
    assert amendments, f"{program} was not amended"
    for payload in amendments:
        for member in payload["members"]:
            assert set(member) == fields, (program, set(member) ^ fields)
    last = amendments[-1]
    assert sorted(m["person_id"] for m in last["members"]) == _ids(seen, "large", AMENDED[program])


def test_housing_hears_of_one_contact_and_a_head_count(seen: Seen) -> None:
    [issued] = [p for p in _of(seen, "large", "ReferralIssued") if p["department"] == "housing"]
    assert issued["grounds"]["dwelling_unsafe"] == "true"
    assert issued["grounds"]["members_concerned"] == "14"
    amended = [p for p in _of(seen, "large", "ReferralAmended") if p["department"] == "housing"]
    assert amended[-1]["grounds"]["members_concerned"] == "13"


@pytest.mark.parametrize("program", sorted(ELDER_ISSUED))
def test_the_elder_alone(seen: Seen, program: str) -> None:
    [payload] = [p for p in _of(seen, "elder", "ReferralIssued") if p["program"] == program]
    [member] = payload["members"]
    assert member["person_id"] == seen.bodies["elder"]["members"][0]["person_id"]
    assert set(member) == ELDER_ISSUED[program]


def test_temporary_assistance_names_the_contact_and_the_emergency(seen: Seen) -> None:
    [payload] = _of(seen, "well_off", "ReferralIssued")
    assert payload["program"] == "temporary_assistance"
    head = seen.bodies["well_off"]["members"][0]
    assert payload["members"] == [{"person_id": head["person_id"], "name": head["name"]}]
    assert payload["grounds"]["emergency_kind"] == "major_accident"
    assert payload["grounds"]["members_concerned"] == "2"


def test_charity_gets_a_reference_and_the_need_never_an_identity(seen: Seen) -> None:
    [payload] = [
        e["payload"] for e in seen.topics["charity"] if e["event_type"] == "ReferralIssued"
    ]
    assert payload["program"] == "charity_linkage"
    assert payload["members"] == []
    assert re.fullmatch(r"[0-9a-f]{64}", payload["household_ref"]), payload.get("household_ref")
    assert seen.ids["large"] not in payload["household_ref"]
    assert payload["region_code"] == "330100" and payload["tier"] == "DIBAO"
    grounds = payload["grounds"]
    assert grounds["declined_program"] == "housing_assistance"
    assert grounds["declined_by"] == "housing"
    assert grounds["members_concerned"] == "13"
    assert grounds["dwelling_unsafe"] == "true"
    # Every byte of the charity's topic: no resident id, name or birth date of anyone.
    everyone = [m for body in seen.bodies.values() for m in body["members"]]
    assert seen.charity_bytes
    for record in seen.charity_bytes:
        text = record.decode()
        assert not RESIDENT_ID.search(text), RESIDENT_ID.search(text)
        for member in everyone:
            assert member["person_id"] not in text
            assert member["name"] not in text
            assert member["birth_date"] not in text


def test_no_department_but_civil_affairs_sees_incomes_or_deposits(seen: Seen) -> None:
    for department, events in seen.topics.items():
        text = json.dumps([e["payload"] for e in events])
        assert "deposits" not in text, department
        if department != "civil_affairs":
            assert "monthly_income" not in text, department
