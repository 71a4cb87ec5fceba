"""Exact household histories for audit tests: events built with the event models, then chained.

Times are minutes after T0 (occurred_at = recorded_at), so `as_of` tests can name an instant
between any two events.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from support.factories import application_event

from events.chain import ChainHead, link
from events.envelope import Envelope, Payload, new_event
from events.household import HouseholdClassified
from events.referral import (
    ChainSettled,
    Delivered,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.types import DeclineReason, Department, Outcome, Program

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
R_ALLOWANCE, R_MEDICAL = "R-allowance", "R-medical"


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def event(
    household_id: str, payload: Payload, minute: float, name: str, producer: str = "test"
) -> Envelope:
    return new_event(
        payload,
        household_id=household_id,
        producer=producer,
        occurred_at=at(minute),
        recorded_at=at(minute),
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{household_id}/{name}"),
    )


def trace(decided_by: str, pci: str = "700.00", d: str = "1000.00") -> dict[str, Any]:
    return {
        "decided_by": decided_by,
        "numbers": {"N": "2", "I": "1400.00", "pci": pci, "D": d, "M": "1500.00"},
        "checks": [
            {
                "tier": "EXTREMELY_POOR",
                "rule": "extremely_poor",
                "passed": False,
                "conditions": {"no_labour_capacity": False},
                "reasons": ["a member can work"],
            },
            {
                "tier": decided_by.upper(),
                "rule": decided_by,
                "passed": True,
                "conditions": {"pci_below_D": True},
                "reasons": [],
            },
        ],
    }


def classified(
    household_id: str,
    minute: float,
    tier: str = "DIBAO",
    policy: str = "2026-v1",
    tags: tuple[str, ...] = (),
) -> Envelope:
    payload = HouseholdClassified(
        region_code="330100",
        effective_date=date(2026, 11, 1),
        tier=tier,
        tags=list(tags),
        policy_version=policy,
        rule_trace=trace(tier.lower()),
    )
    return event(household_id, payload, minute, f"classified/{minute}", "classification")


def issued(
    household_id: str,
    referral_id: str,
    program: Program,
    department: Department,
    minute: float,
    transferred_from: str | None = None,
) -> Envelope:
    payload = ReferralIssued(
        referral_id=referral_id,
        program=program,
        department=department,
        due_at=at(minute) + timedelta(days=15),
        region_code="330100",
        tier="DIBAO",
        grounds={"tier": "DIBAO"},
        transferred_from=transferred_from,
    )
    return event(household_id, payload, minute, f"issued/{referral_id}", "referral")


def answered(
    household_id: str,
    referral_id: str,
    program: Program,
    department: Department,
    outcome: Outcome,
    minute: float,
    **fields: Any,
) -> Envelope:
    payload = ReferralOutcomeReported(
        referral_id=referral_id, program=program, department=department, outcome=outcome, **fields
    )
    return event(household_id, payload, minute, f"outcome/{referral_id}/{outcome}", "feedback")


def withdrawn(
    household_id: str, referral_id: str, program: Program, department: Department, minute: float
) -> Envelope:
    payload = ReferralWithdrawn(
        referral_id=referral_id,
        program=program,
        department=department,
        reason="re-screening removed the ground",
    )
    return event(household_id, payload, minute, f"withdrawn/{referral_id}", "referral")


def overdue(
    household_id: str, referral_id: str, program: Program, department: Department, minute: float
) -> Envelope:
    payload = ReferralOverdue(
        referral_id=referral_id,
        program=program,
        department=department,
        due_at=at(minute),
        escalated_to="civil_affairs",
    )
    return event(household_id, payload, minute, f"overdue/{referral_id}", "feedback")


def settled(household_id: str, minute: float, delivered: list[str]) -> Envelope:
    return event(
        household_id,
        ChainSettled(referrals=2, delivered=delivered),
        minute,
        f"settled/{minute}",
        "feedback",
    )


def history(household_id: str = "HH-AUDIT") -> list[Envelope]:
    """Applied, classified DIBAO (policy 2026-v1), two referrals; one delivered (minute 20),
    one declined; re-screened MARGINAL under policy 2027-v1 (minute 40); settled."""
    allowance = (Program.MINIMUM_LIVING_ALLOWANCE, Department.CIVIL_AFFAIRS)
    medical = (Program.MEDICAL_ASSISTANCE, Department.MEDICAL_SECURITY)
    return [
        application_event(household_id, 1, occurred_at=at(0)),
        classified(household_id, 1),
        issued(household_id, R_ALLOWANCE, *allowance, 2),
        issued(household_id, R_MEDICAL, *medical, 2.5),
        answered(household_id, R_ALLOWANCE, *allowance, Outcome.ACCEPTED, 10),
        answered(
            household_id,
            R_ALLOWANCE,
            *allowance,
            Outcome.DELIVERED,
            20,
            delivered=Delivered(cash_amount=Decimal("1240.00"), service="monthly allowance"),
        ),
        answered(
            household_id,
            R_MEDICAL,
            *medical,
            Outcome.DECLINED,
            30,
            reason=DeclineReason.NOT_COVERED,
        ),
        classified(household_id, 40, tier="MARGINAL", policy="2027-v1"),
        settled(household_id, 41, [R_ALLOWANCE]),
    ]


def chained(events: list[Envelope]) -> list[Envelope]:
    """The events as the chain writer would append them (one household)."""
    head, out = ChainHead(), []
    for e in events:
        placed = link(e, head.sequence + 1, head.hash)
        head = ChainHead(placed.sequence or 0, placed.hash or "")
        out.append(placed)
    return out


def documents(events: list[Envelope]) -> list[dict[str, Any]]:
    return [e.to_document() for e in chained(events)]
