"""What a re-screening changes in a household's referrals: a pure plan, nothing mutated.

    reconcile(needs, open_referrals, answered) -> ReferralPlan

`needs` is what `needed_programs` returns for the new classification; `open_referrals` the
household's open referrals by program; `answered` the grounds whose referral got a final
answer while they still held. The plan names the needs to issue, the open referrals to amend
(with what they become) and to withdraw, and the answered grounds that still hold. The
referral handler applies it; the policy impact report calls it on a copy of a household's
state to count what a version would issue and withdraw, so it must never change its inputs.

Rules (domain.md, over-time.md):
* one open referral per program; the same result again issues nothing;
* a program whose ground is gone is withdrawn (charity_linkage follows a decline, not a
  classification, and is never withdrawn by re-screening);
* an open referral whose members change, or whose emergency changes (another disaster now
  grounds disaster_relief), is amended: same referral, new members and grounds. Grounds that
  only move numbers (pci, the standard, the tier's figures) amend nothing: the department
  assesses the figures itself, and a notice for every income change would drown it;
* a program answered finally is not issued again while the same ground holds; for
  disaster_relief and temporary_assistance the ground is the emergency, so a new emergency
  after the last one's relief was delivered is a new need.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, replace
from datetime import date

from events.types import Department, Program
from services.rules.programs import Need
from services.rules.tiers import emergency_window

# A ground that got a final answer: the program, and the emergency for the programs each
# emergency grounds anew (None for the others).
AnsweredGround = tuple[Program, str | None]


@dataclass(frozen=True, slots=True)
class OpenReferral:
    """What is kept of an issued referral while it is open: enough to amend, withdraw or
    transfer it, or link charity after it. (The whole ReferralIssued, with each member's
    details, was about 10 KB per household of the referral service's memory: make bench.)"""

    referral_id: str
    program: Program
    department: Department
    member_ids: tuple[str, ...]
    grounds: tuple[tuple[str, str], ...]  # all of the need's grounds, before disclosure
    ground: str | None = None  # Need.ground

    @classmethod
    def of(cls, referral_id: str, need: Need) -> OpenReferral:
        return cls(
            referral_id,
            need.program,
            need.department,
            need.members,
            tuple(need.grounds.items()),
            need.ground,
        )

    @property
    def answered_ground(self) -> AnsweredGround:
        return (self.program, self.ground)

    def as_need(self) -> Need:
        """The need this referral stands for, as held by its department."""
        return Need(self.program, self.department, self.member_ids, dict(self.grounds), self.ground)


@dataclass(frozen=True, slots=True)
class Amendment:
    """An open referral and what it becomes (addressed to the department that holds it)."""

    referral: OpenReferral
    need: Need

    @property
    def members_changed(self) -> bool:
        return set(self.referral.member_ids) != set(self.need.members)

    @property
    def ground_changed(self) -> bool:
        return self.referral.ground != self.need.ground


@dataclass(frozen=True, slots=True)
class ReferralPlan:
    issue: tuple[Need, ...] = ()
    amend: tuple[Amendment, ...] = ()
    withdraw: tuple[OpenReferral, ...] = ()
    answered: frozenset[AnsweredGround] = frozenset()  # the answered grounds that still hold

    @property
    def changes_nothing(self) -> bool:
        return not (self.issue or self.amend or self.withdraw)


def answered_ground(need: Need) -> AnsweredGround:
    return (need.program, need.ground)


def reconcile(
    needs: Mapping[Program, Need],
    open_referrals: Mapping[Program, OpenReferral],
    answered: Set[AnsweredGround],
) -> ReferralPlan:
    """The referrals to issue, amend and withdraw so that the open ones match `needs`."""
    holding = {answered_ground(n) for n in needs.values()}
    # A ground lost and found again is a new need: forget answers whose ground is gone.
    still_answered = frozenset(a for a in answered if a in holding)
    issue: list[Need] = []
    amend: list[Amendment] = []
    for program, need in sorted(needs.items()):
        referral = open_referrals.get(program)
        if referral is None:
            if answered_ground(need) not in still_answered:
                issue.append(need)
            continue
        # A transferred referral stays with the department it went to.
        amendment = Amendment(referral, replace(need, department=referral.department))
        if amendment.members_changed or amendment.ground_changed:
            amend.append(amendment)
    withdraw = tuple(
        referral
        for program, referral in sorted(open_referrals.items())
        if program not in needs and program is not Program.CHARITY_LINKAGE
    )
    return ReferralPlan(tuple(issue), tuple(amend), withdraw, still_answered)


def ground_date(ground: str) -> date:
    """The date of an emergency ground (`kind@2026-06-01`)."""
    return date.fromisoformat(ground.rpartition("@")[2])


def withdrawal_reason(referral: OpenReferral, tier: str, on: date) -> str:
    """Why re-screening on `on` withdraws `referral`, in a department's words."""
    start, _ = emergency_window(on)
    if referral.ground is not None and ground_date(referral.ground) < start:
        kind, _, day = referral.ground.partition("@")
        return (
            f"re-screening on {on}: the {kind} of {day} has left its 90-day window "
            f"and no other emergency grounds {referral.program.value}"
        )
    return f"re-screening on {on}: tier {tier} no longer grounds {referral.program.value}"


def amendment_reason(amendment: Amendment, on: date) -> str:
    """What changed, for the department that holds the referral."""
    changes = []
    if amendment.members_changed:
        before, after = set(amendment.referral.member_ids), set(amendment.need.members)
        changes.append(f"members concerned: {len(after - before)} in, {len(before - after)} out")
    if amendment.ground_changed:
        changes.append(
            f"now grounded on {amendment.need.ground} instead of {amendment.referral.ground}"
        )
    return f"re-screening on {on}: " + "; ".join(changes)
