"""The referrals each household holds, as its chain tells them, and what each chain event
decides about them.

Referral applies `ReferralLedger` and turns its decisions into events; the policy service
applies the same ledger to the same chain to know every household's referrals for its impact,
without re-stating referral's rules. A decision is made once per chain event, whoever applies
it, so the two agree by construction.

    apply(event, partition) -> [Issue | Amend | Withdraw]

Pure: the ledger is fed decoded chain events; building, logging and publishing what it decides
is the applier's. Its households are kept on disk by partition of the chain (KEPT is their
shape; services/runtime/kept_state.py keeps the files).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from pydantic import TypeAdapter

from events.envelope import Envelope, derived_event_id
from events.household import HouseholdClassified, HouseholdIdentified
from events.referral import ReferralOutcomeReported
from events.schedule import HouseholdClosed
from events.types import DeclineReason, Department, EventType, Outcome, Program
from services.rules.classify import Classification
from services.rules.facts import HouseholdFacts
from services.rules.programs import Need, charity_linkage_need, needed_programs
from services.rules.reconcile import (
    Amendment,
    AnsweredGround,
    OpenReferral,
    reconcile,
    withdrawal_reason,
)
from services.rules.translation import classification_from_event, facts_from_identified

CLOSED_REASON = "household_closed"
# The chain events the ledger reads; every other type (its header says which) can be skipped
# undecoded. Most of a chain is referral events, which only echo the ledger's own decisions.
READS = frozenset(
    {
        EventType.HOUSEHOLD_IDENTIFIED,
        EventType.HOUSEHOLD_CLASSIFIED,
        EventType.REFERRAL_OUTCOME_REPORTED,
        EventType.HOUSEHOLD_CLOSED,
    }
)
SKIPPED = frozenset(EventType) - READS


class LedgerRefused(ValueError):
    """A chain event the ledger cannot apply: its applier refuses it (dead-letters it)."""


@dataclass
class Household:
    facts: HouseholdFacts | None = None
    classification: Classification | None = None
    open_by_program: dict[Program, OpenReferral] = field(default_factory=dict)
    # Identifications not yet classified, by event id: identification may append a newer one
    # before classification answers the older, and a classification must be read with the
    # facts it was computed from (at its effective date).
    unclassified: dict[str, HouseholdIdentified] = field(default_factory=dict)
    # Grounds whose referral got a final answer while they still hold: re-screening with the
    # same result issues nothing new; a ground lost and found again is a new need.
    answered: set[AnsweredGround] = field(default_factory=set)
    closed: bool = False  # no member is left: nothing more is issued


@dataclass(frozen=True, slots=True)
class Issue:
    referral_id: str
    need: Need
    transferred_from: str | None = None


@dataclass(frozen=True, slots=True)
class Amend:
    amendment: Amendment
    on: date  # the re-screening's effective date


@dataclass(frozen=True, slots=True)
class Withdraw:
    referral: OpenReferral
    reason: str


Decision = Issue | Amend | Withdraw

# The households of one partition, as kept on disk (KEPT), and a version to bump when what a
# field means changes: its appliers name the shape of what they keep from both.
KEPT = TypeAdapter(dict[str, Household])
STATE_VERSION = 1


class ReferralLedger:
    def __init__(self) -> None:
        self.households: dict[str, Household] = {}
        self._of_partition: dict[int, set[str]] = {}  # each chain partition's households

    def dump_partition(self, partition: int) -> bytes:
        mine = self._of_partition.get(partition, set())
        return KEPT.dump_json({h: self.households[h] for h in sorted(mine)})

    def load_partition(self, partition: int, data: bytes) -> None:
        loaded = KEPT.validate_json(data)
        self.households.update(loaded)
        self._of_partition.setdefault(partition, set()).update(loaded)

    def apply(self, event: Envelope, partition: int) -> list[Decision]:
        """What `event` (of chain partition `partition`) decides, already applied here."""
        household_id = event.household_id
        if household_id is None:
            return []
        household = self.households.get(household_id)
        if household is None:
            household = self.households[household_id] = Household()
            self._of_partition.setdefault(partition, set()).add(household_id)
        if household.closed:
            return []
        payload = event.payload
        if isinstance(payload, HouseholdIdentified):
            household.unclassified[str(event.event_id)] = payload
            return []
        if isinstance(payload, HouseholdClassified):
            on = payload.effective_date
            identified = household.unclassified.pop(str(event.causation_id), None)
            if identified is not None:
                household.facts = facts_from_identified(household_id, identified, on)
            household.classification = classification_from_event(payload)
            return _rescreen(event, household, on)
        if isinstance(payload, ReferralOutcomeReported):
            return _after_outcome(event, payload, household)
        if isinstance(payload, HouseholdClosed):
            return _close(household)
        return []


def _rescreen(cause: Envelope, household: Household, on: date) -> list[Decision]:
    facts, classification = household.facts, household.classification
    if facts is None or classification is None:
        raise LedgerRefused("household classified before it was identified")
    try:
        needs = needed_programs(facts, classification, on)
    except ValueError as error:
        raise LedgerRefused(f"needs of household {cause.household_id}: {error}") from None
    plan = reconcile(needs, household.open_by_program, household.answered)
    household.answered = set(plan.answered)
    decisions: list[Decision] = [_issue(cause, household, need) for need in plan.issue]
    for amendment in plan.amend:
        need = amendment.need
        household.open_by_program[need.program] = OpenReferral.of(
            amendment.referral.referral_id, need
        )
        decisions.append(Amend(amendment, on))
    for referral in plan.withdraw:
        reason = withdrawal_reason(referral, classification.tier.value, on)
        decisions.append(_withdraw(household, referral, reason))
    return decisions


def _after_outcome(
    cause: Envelope, outcome: ReferralOutcomeReported, household: Household
) -> list[Decision]:
    referral = household.open_by_program.get(outcome.program)
    if referral is None or referral.referral_id != outcome.referral_id:
        return []  # withdrawn or superseded meanwhile: nothing follows from it
    if outcome.outcome is Outcome.ACCEPTED:
        return []
    del household.open_by_program[outcome.program]
    if outcome.outcome is not Outcome.TRANSFERRED:
        household.answered.add(referral.answered_ground)
    facts = household.facts
    if facts is None or household.classification is None:
        return []
    # Members who left the household since are no one's concern any more.
    present = {m.person_id for m in facts.members}
    members = tuple(p for p in referral.member_ids if p in present)
    if outcome.outcome is Outcome.DECLINED and outcome.reason is DeclineReason.NOT_COVERED:
        # Charity is the last resort: its own decline links nothing further.
        declined_by_charity = (
            outcome.department is Department.CHARITY or outcome.program is Program.CHARITY_LINKAGE
        )
        if declined_by_charity or Program.CHARITY_LINKAGE in household.open_by_program:
            return []
        need = charity_linkage_need(
            outcome.program, outcome.department, members, household.classification
        )
        # Charity reads the declined need's figures (its disclosure keeps only those).
        need = replace(need, grounds=dict(referral.grounds) | need.grounds)
        return [_issue(cause, household, need)]
    if outcome.outcome is Outcome.TRANSFERRED and outcome.transfer_to is not None:
        need = replace(
            referral.as_need(), department=Department(outcome.transfer_to), members=members
        )
        return [_issue(cause, household, need, transferred_from=referral.referral_id)]
    return []


def _close(household: Household) -> list[Decision]:
    """No member is left: withdraw every open referral, keep nothing but the mark."""
    decisions: list[Decision] = [
        _withdraw(household, referral, CLOSED_REASON)
        for referral in sorted(household.open_by_program.values(), key=lambda r: r.program)
    ]
    household.facts = household.classification = None
    household.unclassified.clear()
    household.answered.clear()
    household.closed = True
    return decisions


def _issue(
    cause: Envelope, household: Household, need: Need, transferred_from: str | None = None
) -> Issue:
    # Derived from its cause, so a replay or a second applier names it the same.
    referral_id = f"R-{derived_event_id(cause.event_id, need.program, need.department).hex[:20]}"
    household.open_by_program[need.program] = OpenReferral.of(referral_id, need)
    return Issue(referral_id, need, transferred_from)


def _withdraw(household: Household, referral: OpenReferral, reason: str) -> Withdraw:
    del household.open_by_program[referral.program]
    return Withdraw(referral, reason)
