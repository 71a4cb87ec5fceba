"""Test data: valid households and events, built the way intake would build them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from events.envelope import Envelope, new_event
from events.household import ApplicationReceived
from events.identity import make_resident_id

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def person(n: int, birth: date = date(1980, 5, 17), region: str = "330100") -> str:
    return make_resident_id(region, birth, n % 1000)


def member(n: int = 1, **overrides: Any) -> dict[str, Any]:
    birth = overrides.pop("birth_date", date(1980, 5, 17))
    data: dict[str, Any] = {
        "person_id": person(n, birth),
        "name": f"Member {n}",
        "birth_date": birth.isoformat(),
        "relation": "head",
        "monthly_income": "0",
        "labour_capacity": "full",
        "employment_status": "unemployed",
    }
    data.update(overrides)
    return data


def application_body(
    members: list[dict[str, Any]] | None = None, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region_code": "330100",
        "channel": "window",
        "members": members or [member(1)],
        "assets": {"deposits": "0", "vehicles": 0, "residential_properties": 1},
        "rigid_expenses_12m": {"medical": "0", "education": "0"},
        "dwelling_unsafe": False,
        "legal_supporter_able": False,
    }
    body.update(overrides)
    return body


def application_event(
    household_id: str = "HH-1", n: int = 1, occurred_at: datetime = NOW, **overrides: Any
) -> Envelope:
    overrides.setdefault("members", [member(n)])
    payload = ApplicationReceived.model_validate(application_body(**overrides))
    return new_event(
        payload,
        household_id=household_id,
        producer="test",
        occurred_at=occurred_at,
        recorded_at=occurred_at,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{household_id}/{n}"),
    )


def money(value: str) -> Decimal:
    return Decimal(value)
