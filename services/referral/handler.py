"""Referral: push according to needs, one referral per program a household lacks.

From the chain it learns each household's facts and classification; the pure `reconcile`
(domain/reconcile.py) plans which referrals to issue, amend and withdraw, and this handler
applies the plan and says so in events. It links charity when a department other than charity
declines as not_covered, re-issues to another department on TRANSFERRED, and withdraws every
open referral when the household is closed. The chain writer delivers each chained referral
event to its department's topic. Policy versions come from `assist.policy`: a referral's
service-level days are those of the version in force on the day it is issued.

Fed with `replaying=True` the handler only keeps its state (no payload is built, no event is
made), so reading a whole chain into `households` is cheap: the policy impact report does so.
Its state is kept on local disk by partition of the chain (services/runtime/kept_state.py), so
a start replays only what the chain gained since the last file was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from pydantic import TypeAdapter

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, Payload, derived_event_id, new_event
from events.household import HouseholdClassified, HouseholdIdentified
from events.referral import (
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralWithdrawn,
)
from events.schedule import HouseholdClosed
from events.types import DeclineReason, Department, EventType, Outcome, Program
from services.classification.domain.facts import HouseholdFacts
from services.classification.translation import classification_from_event, facts_from_identified
from services.policy.standards import PolicyBook
from services.policy.versions import PolicyVersions
from services.referral.domain.disclosure import Pseudonym, amended_payload, referral_payload
from services.referral.domain.programs import (
    Need,
    charity_linkage_need,
    needed_programs,
    referral_due_at,
)
from services.referral.domain.reconcile import (
    Amendment,
    OpenReferral,
    amendment_reason,
    reconcile,
    withdrawal_reason,
)
from services.referral.state import Household
from services.runtime.clock import recorded_now
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected

SERVICE = "referral"
CLOSED_REASON = "household_closed"
log = get_logger()
# On the chain only these matter; other event types (their header says which) are skipped
# undecoded (garbage is still decoded, and refused). Most of a chain is referral events.
_SKIPPED = frozenset(EventType) - {
    EventType.HOUSEHOLD_IDENTIFIED,
    EventType.HOUSEHOLD_CLASSIFIED,
    EventType.REFERRAL_OUTCOME_REPORTED,
    EventType.HOUSEHOLD_CLOSED,
}

__all__ = ["Household", "OpenReferral", "ReferralHandler"]

# The households of one partition, as kept on disk. Bump STATE_VERSION when what a field means
# changes; a change of the fields' shape changes the schema's hash by itself.
_HOUSEHOLDS = TypeAdapter(dict[str, Household])
STATE_VERSION = 1
STATE_SCHEMA = hashlib.sha256(
    json.dumps([STATE_VERSION, _HOUSEHOLDS.json_schema()], sort_keys=True).encode()
).hexdigest()[:16]


class ReferralHandler:
    state_schema = STATE_SCHEMA  # the shape of what is kept on disk (kept_state.py)

    def __init__(
        self,
        topics: TopicNames,
        policy: PolicyBook | None = None,
        pseudonym: Pseudonym | None = None,
    ) -> None:
        self.topics = topics
        # The deployment's keyed pseudonym: charity's household_ref (without it, none is sent).
        self.pseudonym = pseudonym
        # The shipped standards (or the book given) plus every version approved on the topic.
        self.versions = PolicyVersions() if policy is None else PolicyVersions(book=policy)
        self.households: dict[str, Household] = {}
        # The households of each partition of the chain, for its file (kept_state.py).
        self._of_partition: dict[int, set[str]] = {}

    @property
    def policy(self) -> PolicyBook:
        return self.versions.book

    @property
    def state_topic(self) -> str:
        return self.topics.chain

    def dump_partition(self, partition: int) -> bytes:
        mine = self._of_partition.get(partition, set())
        return _HOUSEHOLDS.dump_json({h: self.households[h] for h in sorted(mine)})

    def load_partition(self, partition: int, data: bytes) -> None:
        loaded = _HOUSEHOLDS.validate_json(data)
        self.households.update(loaded)
        self._of_partition.setdefault(partition, set()).update(loaded)

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.policy:
            self._fold_policy(message.value)
            return []
        if message.event_type in _SKIPPED:
            return []
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if event.household_id is None:
            return []
        household = self.households.get(event.household_id)
        if household is None:
            household = self.households[event.household_id] = Household()
            self._of_partition.setdefault(message.partition, set()).add(event.household_id)
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
                household.facts = facts_from_identified(event.household_id, identified, on)
            household.classification = classification_from_event(payload)
            return self._emit(self._reconcile(event, household, on, replaying))
        if isinstance(payload, ReferralOutcomeReported):
            return self._emit(self._after_outcome(event, payload, household, replaying))
        if isinstance(payload, HouseholdClosed):
            return self._emit(self._close(event, household, replaying))
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def _fold_policy(self, value: bytes | None) -> None:
        try:
            self.versions.fold(decode_event(value))
        except (DecodeError, LookupError, ValueError) as error:
            raise Rejected(f"policy message not taken: {error}") from None

    def _emit(self, events: list[Envelope]) -> list[Outbound]:
        return [Outbound.event(self.topics.events, e) for e in events]

    def _reconcile(
        self, cause: Envelope, household: Household, on: date, replaying: bool
    ) -> list[Envelope]:
        facts, classification = household.facts, household.classification
        if facts is None or classification is None:
            raise Rejected("household classified before it was identified")
        try:
            needs = needed_programs(facts, classification, on)
        except ValueError as error:
            raise Rejected(f"needs of household {cause.household_id}: {error}") from None
        plan = reconcile(needs, household.open_by_program, household.answered)
        household.answered = set(plan.answered)
        events: list[Envelope] = []
        for need in plan.issue:
            events += self._issue(cause, household, need, replaying)
        for amendment in plan.amend:
            events += self._amend(cause, household, amendment, on, replaying)
        for referral in plan.withdraw:
            reason = withdrawal_reason(referral, classification.tier.value, on)
            events += self._withdraw(cause, household, referral, reason, replaying)
        return events

    def _amend(
        self,
        cause: Envelope,
        household: Household,
        amendment: Amendment,
        on: date,
        replaying: bool,
    ) -> list[Envelope]:
        referral_id, need = amendment.referral.referral_id, amendment.need
        household.open_by_program[need.program] = OpenReferral.of(referral_id, need)
        if replaying or household.facts is None:
            return []
        reason = amendment_reason(amendment, on)
        document = amended_payload(
            need,
            household.facts,
            referral_id=referral_id,
            reason=reason,
            on=on,
            pseudonym=self.pseudonym,
        )
        log.info(
            "referral amended",
            household_id=cause.household_id,
            referral_id=referral_id,
            program=need.program.value,
            event_type="ReferralAmended",
            correlation_id=str(cause.correlation_id),
        )
        payload = ReferralAmended.model_validate(document)
        return [self._event(payload, cause, f"amend:{referral_id}")]

    def _close(self, cause: Envelope, household: Household, replaying: bool) -> list[Envelope]:
        """No member is left: withdraw every open referral, keep nothing but the mark."""
        events: list[Envelope] = []
        for referral in sorted(household.open_by_program.values(), key=lambda r: r.program):
            events += self._withdraw(cause, household, referral, CLOSED_REASON, replaying)
        household.facts = household.classification = None
        household.unclassified.clear()
        household.answered.clear()
        household.closed = True
        return events

    def _after_outcome(
        self,
        cause: Envelope,
        outcome: ReferralOutcomeReported,
        household: Household,
        replaying: bool,
    ) -> list[Envelope]:
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
                outcome.department is Department.CHARITY
                or outcome.program is Program.CHARITY_LINKAGE
            )
            if declined_by_charity or Program.CHARITY_LINKAGE in household.open_by_program:
                return []
            need = charity_linkage_need(
                outcome.program, outcome.department, members, household.classification
            )
            # Charity reads the declined need's figures (its disclosure keeps only those).
            need = replace(need, grounds=dict(referral.grounds) | need.grounds)
            return self._issue(cause, household, need, replaying)
        if outcome.outcome is Outcome.TRANSFERRED and outcome.transfer_to is not None:
            need = replace(
                referral.as_need(), department=Department(outcome.transfer_to), members=members
            )
            return self._issue(
                cause, household, need, replaying, transferred_from=referral.referral_id
            )
        return []

    def _due_at(self, at: datetime, facts: HouseholdFacts, department: Department) -> datetime:
        """Due after the service-level days in force on the issuing day in the region."""
        try:
            on = self.policy.local_date(facts.region_code, at)
        except LookupError:  # a region only a version not yet read here knows: close enough
            on = at.date()
        return referral_due_at(at, department, self.policy, on)

    def _issue(
        self,
        cause: Envelope,
        household: Household,
        need: Need,
        replaying: bool,
        transferred_from: str | None = None,
    ) -> list[Envelope]:
        referral_id = (
            f"R-{derived_event_id(cause.event_id, need.program, need.department).hex[:20]}"
        )
        household.open_by_program[need.program] = OpenReferral.of(referral_id, need)
        if replaying:
            return []
        assert household.facts is not None and household.classification is not None
        # Issued at the later of when its cause happened and when the system recorded it: a
        # back-dated event never issues a referral already overdue.
        issued_at = max(cause.occurred_at, cause.recorded_at)
        due_at = self._due_at(issued_at, household.facts, need.department)
        document = referral_payload(
            need,
            household.classification,
            household.facts,
            referral_id=referral_id,
            due_at=due_at,
            pseudonym=self.pseudonym,
        )
        if transferred_from:
            document["transferred_from"] = transferred_from
        log.info(
            "referral issued",
            household_id=cause.household_id,
            referral_id=referral_id,
            program=need.program.value,
            department=need.department.value,
            event_type="ReferralIssued",
            correlation_id=str(cause.correlation_id),
        )
        payload = ReferralIssued.model_validate(document)
        return [self._event(payload, cause, referral_id, occurred_at=issued_at)]

    def _withdraw(
        self,
        cause: Envelope,
        household: Household,
        referral: OpenReferral,
        reason: str,
        replaying: bool,
    ) -> list[Envelope]:
        del household.open_by_program[referral.program]
        if replaying:
            return []
        payload = ReferralWithdrawn(
            referral_id=referral.referral_id,
            program=referral.program,
            department=referral.department,
            reason=reason,
        )
        log.info(
            "referral withdrawn",
            household_id=cause.household_id,
            referral_id=referral.referral_id,
            program=referral.program.value,
            event_type="ReferralWithdrawn",
            correlation_id=str(cause.correlation_id),
        )
        return [self._event(payload, cause, f"withdraw:{referral.referral_id}")]

    def _event(
        self,
        payload: Payload,
        cause: Envelope,
        purpose: str,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        return new_event(
            payload,
            household_id=cause.household_id,
            producer=SERVICE,
            occurred_at=occurred_at or cause.occurred_at,
            event_id=derived_event_id(cause.event_id, purpose),
            cause=cause,
            recorded_at=recorded_now(cause),
        )
