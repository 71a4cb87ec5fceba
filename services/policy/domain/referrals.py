"""What the referral service would do at a re-screening, in the terms the impact needs.

Everything the impact takes from the referral rules goes through here: which programs a
classification grounds (`needed_programs`) and what a re-screening then issues, amends and
withdraws given a household's open referrals and answered grounds (`reconcile`, as the shared
referral ledger applies it for the referral service). Nothing is re-stated here, only counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from events.types import Program
from services.rules.classify import Classification
from services.rules.facts import HouseholdFacts
from services.rules.programs import Need, needed_programs
from services.rules.reconcile import AnsweredGround, OpenReferral, reconcile

Needs = Mapping[Program, Need]
PLANNED = "planned"  # the referral id of a referral a plan would issue (ids do not enter counts)


@dataclass(frozen=True, slots=True)
class ReferralState:
    """A household's referrals as referral holds them: open ones by program, answered grounds."""

    open: Mapping[Program, OpenReferral] = field(default_factory=lambda: MappingProxyType({}))
    answered: frozenset[AnsweredGround] = frozenset()

    @classmethod
    def of(
        cls, open_by_program: Mapping[Program, OpenReferral], answered: set[AnsweredGround]
    ) -> ReferralState:
        """A frozen copy of a household's referrals (the originals go on changing)."""
        return cls(MappingProxyType(dict(open_by_program)), frozenset(answered))


@dataclass(frozen=True, slots=True)
class Plan:
    """What one re-screening issues, amends and withdraws, and the state it leaves."""

    issued: frozenset[Program]
    amended: frozenset[Program]
    withdrawn: frozenset[Program]
    after: ReferralState


def needs_of(facts: HouseholdFacts, classification: Classification, on: date) -> Needs:
    """The programs the classification grounds on `on` (charity linkage aside)."""
    return needed_programs(facts, classification, on)


def plan(needs: Needs, state: ReferralState) -> Plan:
    """Referral's reconciliation of `needs` against the household's referrals, applied to a
    copy of them."""
    planned = reconcile(needs, state.open, state.answered)
    after = dict(state.open)
    for referral in planned.withdraw:
        del after[referral.program]
    for amendment in planned.amend:
        after[amendment.need.program] = OpenReferral.of(
            amendment.referral.referral_id, amendment.need
        )
    for need in planned.issue:
        after[need.program] = OpenReferral.of(PLANNED, need)
    return Plan(
        issued=frozenset(n.program for n in planned.issue),
        amended=frozenset(a.need.program for a in planned.amend),
        withdrawn=frozenset(r.program for r in planned.withdraw),
        after=ReferralState(MappingProxyType(after), planned.answered),
    )
