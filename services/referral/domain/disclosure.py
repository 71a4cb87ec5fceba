"""What each department may see of a household: the referral payloads, built from an allowlist.

Fields are named as paths: a top-level key (`tier`), a ground (`grounds.medical_expenses_12m`)
or a member attribute (`members.disability_grade`). A payload discloses a path only when the
receiving department's ALLOWLIST holds it; member attributes must also be ones the program needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from events.types import Department, Program
from services.classification.domain.classify import Classification
from services.classification.domain.facts import HouseholdFacts, Member
from services.classification.domain.tiers import fmt
from services.referral.domain.programs import Need

# Every department sees these: what the referral is, for whom, by when, and why in general.
COMMON: Final = frozenset(
    {
        "referral_id",
        "program",
        "department",
        "due_at",
        "region_code",
        "tier",
        "members",
        "grounds",
        "members.person_id",
        "members.name",
        "grounds.tier",
        "grounds.policy_version",
        "grounds.rule",
        # A transferred referral names the one it replaces, so the receiving department can
        # trace the case back to the department that passed it on.
        "transferred_from",
        # Why a referral was amended (members or the emergency grounding it changed).
        "reason",
    }
)


def _paths(grounds: set[str], members: set[str]) -> frozenset[str]:
    return COMMON | {f"grounds.{g}" for g in grounds} | {f"members.{m}" for m in members}


ALLOWLIST: Final[Mapping[Department, frozenset[str]]] = MappingProxyType(
    {
        Department.CIVIL_AFFAIRS: _paths(
            {
                "per_capita_income",
                "dibao_standard",
                "household_size",
                "emergency_kind",
                "emergency_on",
                "tag",
            },
            {
                "birth_date",
                "monthly_income",
                "labour_capacity",
                "employment_status",
                "disability_grade",
                "in_school",
                "orphan",
                "parents_unable_to_support",
                "left_behind",
            },
        ),
        Department.MEDICAL_SECURITY: _paths(
            {"medical_expenses_12m", "chronically_ill_members"},
            {"birth_date", "chronic_illness", "disability_grade"},
        ),
        Department.EDUCATION: _paths({"education_expenses_12m"}, {"birth_date", "in_school"}),
        Department.HOUSING: _paths({"dwelling_unsafe"}, set()),
        Department.HUMAN_RESOURCES: _paths(
            set(), {"birth_date", "labour_capacity", "employment_status"}
        ),
        Department.EMERGENCY_MANAGEMENT: _paths({"disaster_on"}, set()),
        Department.DISABLED_PERSONS_FEDERATION: _paths({"tag"}, {"birth_date", "disability_grade"}),
        Department.CHARITY: _paths({"declined_program", "declined_by", "decline_reason"}, set()),
    }
)

# The member attributes each program needs; a department sees the intersection with its allowlist.
PROGRAM_MEMBER_FIELDS: Final[Mapping[Program, frozenset[str]]] = MappingProxyType(
    {
        Program.EXTREME_POVERTY_SUPPORT: frozenset(
            {
                "birth_date",
                "monthly_income",
                "labour_capacity",
                "employment_status",
                "disability_grade",
            }
        ),
        Program.MINIMUM_LIVING_ALLOWANCE: frozenset(
            {"birth_date", "monthly_income", "labour_capacity", "employment_status"}
        ),
        Program.MEDICAL_ASSISTANCE: frozenset(
            {"birth_date", "chronic_illness", "disability_grade"}
        ),
        Program.EDUCATION_ASSISTANCE: frozenset({"birth_date", "in_school"}),
        Program.HOUSING_ASSISTANCE: frozenset(),
        Program.EMPLOYMENT_ASSISTANCE: frozenset(
            {"birth_date", "labour_capacity", "employment_status"}
        ),
        Program.TEMPORARY_ASSISTANCE: frozenset(),
        Program.DISASTER_RELIEF: frozenset(),
        Program.DISABILITY_NURSING_SUBSIDY: frozenset({"birth_date", "disability_grade"}),
        Program.DISABILITY_LIVING_SUBSIDY: frozenset({"birth_date", "disability_grade"}),
        Program.ORPHAN_BASIC_LIVING: frozenset({"birth_date", "orphan"}),
        Program.UNSUPPORTED_CHILD_ALLOWANCE: frozenset({"birth_date", "parents_unable_to_support"}),
        Program.CHILD_CARE_SERVICE: frozenset({"birth_date", "left_behind", "in_school"}),
        Program.ELDERLY_MEAL_ASSISTANCE: frozenset({"birth_date", "disability_grade"}),
        Program.CHARITY_LINKAGE: frozenset(),
    }
)


def _member_value(member: Member, field: str) -> object:
    value = getattr(member, field)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return fmt(value)  # money travels as a string, never a float
    if isinstance(value, StrEnum):
        return value.value
    return value  # bool or int | None: already JSON-friendly


def _member_view(member: Member, fields: frozenset[str]) -> dict[str, object]:
    view: dict[str, object] = {"person_id": member.person_id, "name": member.name}
    view |= {field: _member_value(member, field) for field in sorted(fields)}
    return view


def _disclosed(need: Need, facts: HouseholdFacts) -> tuple[list[dict[str, object]], dict[str, str]]:
    """The members and grounds of `need` that its department may see."""
    allowed = ALLOWLIST[need.department]
    member_fields = frozenset(
        f for f in PROGRAM_MEMBER_FIELDS[need.program] if f"members.{f}" in allowed
    )
    # Unknown person ids raise KeyError: a need must only name members of these facts.
    members = [_member_view(facts.member(pid), member_fields) for pid in need.members]
    grounds = {k: v for k, v in need.grounds.items() if f"grounds.{k}" in allowed}
    return members, grounds


def referral_payload(
    need: Need,
    classification: Classification,
    facts: HouseholdFacts,
    *,
    referral_id: str,
    due_at: datetime,
) -> dict[str, object]:
    """The ReferralIssued payload for `need`, holding only what its department may see."""
    if due_at.utcoffset() is None:
        raise ValueError("due_at must be zone-aware")
    members, grounds = _disclosed(need, facts)
    return {
        "referral_id": referral_id,
        "program": need.program.value,
        "department": need.department.value,
        "due_at": due_at.isoformat(),
        "region_code": facts.region_code,
        "tier": classification.tier.value,
        "members": members,
        "grounds": grounds,
    }


def amended_payload(
    need: Need, facts: HouseholdFacts, *, referral_id: str, reason: str
) -> dict[str, object]:
    """The ReferralAmended payload: the referral's new members and grounds, disclosed to
    `need.department` (the department that holds the referral) as ReferralIssued would be."""
    members, grounds = _disclosed(need, facts)
    return {
        "referral_id": referral_id,
        "program": need.program.value,
        "department": need.department.value,
        "members": members,
        "grounds": grounds,
        "reason": reason,
    }


def disclosed_fields(payload: Mapping[str, object]) -> frozenset[str]:
    """Every path a payload discloses, to compare against ALLOWLIST."""
    paths = set(payload)
    grounds = payload.get("grounds")
    if isinstance(grounds, Mapping):
        paths |= {f"grounds.{k}" for k in grounds}
    members = payload.get("members")
    if isinstance(members, list):
        paths |= {f"members.{k}" for m in members if isinstance(m, Mapping) for k in m}
    return frozenset(paths)
