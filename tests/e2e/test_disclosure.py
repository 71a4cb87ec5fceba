"""Each department's referrals carry only what that department may see (its allowlist)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from households import household, person
from support.system import System, of_type

from events.types import Department
from services.referral.domain.disclosure import ALLOWLIST, disclosed_fields


def everything_household() -> dict[str, Any]:
    """DIBAO, unsafe dwelling, a pupil, an unemployed adult and a severely disabled spouse."""
    return household(
        [
            person(date(1981, 5, 5), "head", 0, "unemployed"),
            person(
                date(1983, 7, 7),
                "spouse",
                0,
                "none",
                capacity="none",
                disability_grade=2,
                chronic_illness=True,
            ),
            person(date(2014, 3, 3), "child", 0, "student", capacity="none", in_school=True),
        ],
        dwelling_unsafe=True,
        rigid_expenses_12m={"medical": 4200, "education": 800},
    )


@pytest.fixture(scope="module")
def referral_topics(system: System) -> dict[str, list[dict[str, Any]]]:
    """Drive one household to a referral for every department; return each topic's events."""
    body = everything_household()
    household_id = system.apply(body).json()["household_id"]

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        chain = await system.wait_chain(
            household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 7, "7 referrals"
        )
        reply = system.signal(
            {
                "kind": "disaster",
                "person_id": body["members"][0]["person_id"],
                "region_code": "330100",
                "occurred_at": datetime.now(UTC).isoformat(),
                "source_department": "emergency_management",
            }
        )
        assert reply.status_code == 202, reply.text
        housing = next(
            d["payload"]
            for d in of_type(chain, "ReferralIssued")
            if d["payload"]["department"] == "housing"
        )
        reply = system.feedback(
            housing["referral_id"], "housing", {"outcome": "DECLINED", "reason": "not_covered"}
        )
        assert reply.status_code == 202, reply.text
        await system.wait_chain(
            household_id,
            lambda c: len(of_type(c, "ReferralIssued")) >= 9,
            "disaster relief and charity",
        )

        async def all_topics() -> dict[str, list[dict[str, Any]]] | None:
            found = {
                d.value: [
                    e
                    for e in await system.department_topic(d.value)
                    if e["household_id"] == household_id
                ]
                for d in Department
            }
            return found if all(found.values()) else None

        result: dict[str, list[dict[str, Any]]] = await system.wait_until(
            all_topics, "a referral on every department's topic"
        )
        return result

    return asyncio.run(scenario())


@pytest.mark.parametrize("department", [d.value for d in Department])
def test_department_receives_only_its_allowlisted_fields(
    referral_topics: dict[str, list[dict[str, Any]]], department: str
) -> None:
    issued = [e for e in referral_topics[department] if e["event_type"] == "ReferralIssued"]
    assert issued, f"no referral reached {department}"
    allowed = ALLOWLIST[Department(department)]
    for event in issued:
        payload = event["payload"]
        assert payload["department"] == department
        assert disclosed_fields(payload) <= allowed, disclosed_fields(payload) - allowed
        for member in payload["members"]:
            assert "monthly_income" not in member or "members.monthly_income" in allowed


def test_no_department_but_civil_affairs_sees_incomes_or_deposits(
    referral_topics: dict[str, list[dict[str, Any]]],
) -> None:
    for department, events in referral_topics.items():
        text = str([e["payload"] for e in events])
        if department != "civil_affairs":
            assert "deposits" not in text, department
