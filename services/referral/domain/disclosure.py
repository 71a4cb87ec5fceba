"""What each department may see of a household: the referral payloads, built from the
need-to-know table (`need_to_know.NEED_TO_KNOW`) and checked against each department's ceiling.

Fields are named as paths: a top-level key (`tier`), a ground (`grounds.medical_expenses_12m`)
or a member attribute (`members.disability_grade`). A payload discloses:

* the members the program's row chooses (`Who`) among those the need concerns, each with the
  attributes the row lists, and no other member;
* the grounds the row lists, plus `members_concerned` (a count) where the row asks for it;
* to a department that is not a government body (charity), no member at all: an anonymised
  `household_ref` (a keyed pseudonym, passed in as `pseudonym`) and the facts of the need.

A referral transferred to another department keeps its program's row, narrowed to what the
receiving department may ever see (`ALLOWLIST`, the union of its own programs' rows), so a
transfer never widens what a department receives; a transfer to charity is anonymised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from events.types import Department
from services.referral.domain.need_to_know import (
    BASE_GROUNDS,
    MEMBERS_CONCERNED,
    NEED_TO_KNOW,
    NeedToKnow,
)
from services.rules.classify import Classification
from services.rules.facts import HouseholdFacts, Member
from services.rules.programs import Need
from services.rules.tiers import fmt

# A keyed pseudonym (HMAC under the deployment's secret): the runtime provides it, the domain
# only calls it. It is given "<purpose>:<household id>".
Pseudonym = Callable[[str], str]
HOUSEHOLD_REF_PURPOSE: Final = "charity-household-ref"

# Departments that are not government bodies (PIPL Art. 23): no member, an anonymised reference.
NOT_GOVERNMENT: Final = frozenset({Department.CHARITY})

# Every department sees these: what the referral is, by when, where, under which tier, rule
# and policy version; why it was transferred or amended.
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
        # A transferred referral names the one it replaces, so the receiving department can
        # trace the case back to the department that passed it on.
        "transferred_from",
        # Why a referral was amended (the members or the emergency grounding it changed).
        "reason",
    }
) | {f"grounds.{g}" for g in BASE_GROUNDS}


def _ceiling(department: Department) -> frozenset[str]:
    rows = [row for row in NEED_TO_KNOW.values() if row.department is department]
    paths = set(COMMON)
    paths |= {f"grounds.{g}" for row in rows for g in row.grounds}
    if department in NOT_GOVERNMENT:
        paths.add("household_ref")
    else:
        paths |= {f"members.{f}" for row in rows for f in row.member_fields}
    return frozenset(paths)


# The most a department may ever see: the union of the rows of the programs it runs.
ALLOWLIST: Final[Mapping[Department, frozenset[str]]] = MappingProxyType(
    {department: _ceiling(department) for department in Department}
)


def _member_value(member: Member, field: str) -> object:
    value = getattr(member, field)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return fmt(value)  # money travels as a string, never a float
    if isinstance(value, StrEnum):
        return value.value
    return value  # str, bool or int | None: already JSON-friendly


def _evaluated_on(classification: Classification) -> date | None:
    on = classification.trace.numbers.get("effective_date")
    return date.fromisoformat(on) if on else None


def disclosed_members(
    need: Need, facts: HouseholdFacts, on: date | None = None
) -> tuple[list[dict[str, object]], NeedToKnow]:
    """The members of `need` its department may see, each with the fields it may see."""
    row = NEED_TO_KNOW[need.program]
    # Unknown person ids raise KeyError: a need must only name members of these facts.
    concerned = [facts.member(pid) for pid in need.members]
    if need.department in NOT_GOVERNMENT:
        return [], row
    allowed = ALLOWLIST[need.department]
    fields = sorted(f for f in row.member_fields if f"members.{f}" in allowed)
    if not {"person_id", "name"} <= set(fields):
        return [], row  # a member is only ever disclosed with who they are
    chosen = row.members.select(concerned, facts, on)
    return [{f: _member_value(m, f) for f in fields} for m in chosen], row


def _disclosed(
    need: Need, facts: HouseholdFacts, on: date | None, pseudonym: Pseudonym | None
) -> tuple[list[dict[str, object]], dict[str, str], dict[str, object]]:
    members, row = disclosed_members(need, facts, on)
    allowed = ALLOWLIST[need.department]
    visible = row.all_grounds
    grounds = {k: v for k, v in need.grounds.items() if k in visible and f"grounds.{k}" in allowed}
    if MEMBERS_CONCERNED in visible and f"grounds.{MEMBERS_CONCERNED}" in allowed:
        grounds[MEMBERS_CONCERNED] = str(len(need.members))
    extra: dict[str, object] = {}
    if need.department in NOT_GOVERNMENT and pseudonym is not None:
        extra["household_ref"] = household_ref(facts.household_id, pseudonym)
    return members, grounds, extra


def household_ref(household_id: str, pseudonym: Pseudonym) -> str:
    """The anonymised reference of a household for charity: the keyed pseudonym of its id
    under this purpose (so it never equals a pseudonym made for another purpose)."""
    return pseudonym(f"{HOUSEHOLD_REF_PURPOSE}:{household_id}")


def referral_payload(
    need: Need,
    classification: Classification,
    facts: HouseholdFacts,
    *,
    referral_id: str,
    due_at: datetime,
    on: date | None = None,
    pseudonym: Pseudonym | None = None,
) -> dict[str, object]:
    """The ReferralIssued payload for `need`, holding only what its department may see.

    Ages are judged at `on`, by default the classification's effective date. `pseudonym`
    makes charity's `household_ref`; without it a charity referral carries no reference at all
    (never an identity)."""
    if due_at.utcoffset() is None:
        raise ValueError("due_at must be zone-aware")
    on = on or _evaluated_on(classification)
    members, grounds, extra = _disclosed(need, facts, on, pseudonym)
    return {
        "referral_id": referral_id,
        "program": need.program.value,
        "department": need.department.value,
        "due_at": due_at.isoformat(),
        "region_code": facts.region_code,
        "tier": classification.tier.value,
        "members": members,
        "grounds": grounds,
    } | extra


def amended_payload(
    need: Need,
    facts: HouseholdFacts,
    *,
    referral_id: str,
    reason: str,
    on: date | None = None,
    pseudonym: Pseudonym | None = None,
) -> dict[str, object]:
    """The ReferralAmended payload: the referral's new members and grounds, disclosed to
    `need.department` (the department that holds the referral) as ReferralIssued would be.
    Ages are judged at `on` (the re-screening's evaluation date) when given."""
    members, grounds, extra = _disclosed(need, facts, on, pseudonym)
    return {
        "referral_id": referral_id,
        "program": need.program.value,
        "department": need.department.value,
        "members": members,
        "grounds": grounds,
        "reason": reason,
    } | extra


def disclosed_fields(payload: Mapping[str, object]) -> frozenset[str]:
    """Every path a payload discloses, to compare against ALLOWLIST (None values disclose
    nothing: they are left out of the event's bytes)."""
    paths = {k for k, v in payload.items() if v is not None}
    grounds = payload.get("grounds")
    if isinstance(grounds, Mapping):
        paths |= {f"grounds.{k}" for k in grounds}
    members = payload.get("members")
    if isinstance(members, Sequence) and not isinstance(members, str):
        paths |= {
            f"members.{k}"
            for m in members
            if isinstance(m, Mapping)
            for k, v in m.items()
            if v is not None
        }
    return frozenset(paths)
