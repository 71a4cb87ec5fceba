"""Households for the end-to-end scenarios, described by what domain.md says they are."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from support.system import new_person


def person(
    birth: date, relation: str, income: int, employment: str, capacity: str = "full", **flags: Any
) -> dict[str, Any]:
    return {
        "person_id": new_person(birth),
        "name": f"{relation.title()} of the household",
        "birth_date": birth.isoformat(),
        "relation": relation,
        "monthly_income": income,
        "labour_capacity": capacity,
        "employment_status": employment,
        **flags,
    }


def household(members: list[dict[str, Any]], days_ago: int = 0, **facts: Any) -> dict[str, Any]:
    """An application body in Hangzhou (D = 1240, M = 1860)."""
    body: dict[str, Any] = {
        "region_code": "330100",
        "channel": "window",
        "occurred_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
        "members": members,
        "assets": {"deposits": 0, "vehicles": 0, "residential_properties": 1},
        "rigid_expenses_12m": {"medical": 0, "education": 0},
        "dwelling_unsafe": False,
        "legal_supporter_able": False,
    }
    body.update(facts)
    return body


def dibao_family(days_ago: int = 0, **facts: Any) -> dict[str, Any]:
    """DIBAO: 3 members, income 1500, pci 500 < D; an unemployed head and a child in school."""
    return household(
        [
            person(date(1986, 3, 1), "head", 0, "unemployed"),
            person(date(1988, 6, 1), "spouse", 1500, "employed"),
            person(date(2016, 9, 1), "child", 0, "student", capacity="none", in_school=True),
        ],
        days_ago=days_ago,
        **facts,
    )


DIBAO_FAMILY_REFERRALS = {
    ("minimum_living_allowance", "civil_affairs"),
    ("medical_assistance", "medical_security"),
    ("education_assistance", "education"),
    ("employment_assistance", "human_resources"),
}
