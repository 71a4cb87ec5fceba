"""Referral: push according to needs, one referral per program a household lacks.

From the chain it learns each household's facts and classification, and issues one referral
per program the household lacks, withdraws those whose ground is gone, links charity when a
department declines as not_covered, and re-issues to another department on TRANSFERRED.
The chain writer delivers each chained referral event to its department's topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, derived_event_id, new_event
from events.household import HouseholdClassified, HouseholdIdentified
from events.referral import (
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralWithdrawn,
)
from events.types import DeclineReason, Department, Outcome, Program
from services.classification.domain.classify import Classification
from services.classification.domain.facts import HouseholdFacts
from services.classification.translation import classification_from_event, facts_from_identified
from services.policy.standards import PolicyBook
from services.referral.domain.disclosure import referral_payload
from services.referral.domain.programs import (
    Need,
    charity_linkage_need,
    needed_programs,
    referral_due_at,
)
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected

SERVICE = "referral"
log = get_logger()


@dataclass(frozen=True, slots=True)
class OpenReferral:
    """What is kept of an issued referral while it is open: enough to withdraw it, transfer it
    or link charity after it. (The whole ReferralIssued, with each member's details, was
    about 10 KB per household of this service's memory: make bench.)"""

    referral_id: str
    program: Program
    department: Department
    member_ids: tuple[str, ...]
    grounds: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, issued: ReferralIssued) -> OpenReferral:
        return cls(
            issued.referral_id,
            issued.program,
            issued.department,
            tuple(m.person_id for m in issued.members),
            tuple(issued.grounds.items()),
        )


@dataclass
class Household:
    facts: HouseholdFacts | None = None
    classification: Classification | None = None
    open_by_program: dict[Program, OpenReferral] = field(default_factory=dict)
    # Facts not yet classified, by HouseholdIdentified event id: identification may append a
    # newer identification before classification answers the older one, and a classification
    # must be read with the facts it was computed from.
    unclassified: dict[str, HouseholdFacts] = field(default_factory=dict)
    # Programs whose referral got a final answer while their ground still holds: re-screening
    # with the same result issues nothing new; a ground lost and found again is a new need.
    answered: set[Program] = field(default_factory=set)


class ReferralHandler:
    def __init__(self, topics: TopicNames, policy: PolicyBook) -> None:
        self.topics = topics
        self.policy = policy
        self.households: dict[str, Household] = {}

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        household = self.households.setdefault(str(event.household_id), Household())
        payload = event.payload
        if isinstance(payload, HouseholdIdentified):
            facts = facts_from_identified(str(event.household_id), payload)
            household.unclassified[str(event.event_id)] = facts
            return []
        if isinstance(payload, HouseholdClassified):
            household.facts = household.unclassified.pop(str(event.causation_id), household.facts)
            household.classification = classification_from_event(payload)
            return self._emit(self._reconcile(event, household))
        if isinstance(payload, ReferralOutcomeReported):
            return self._emit(self._after_outcome(event, payload, household))
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def _emit(self, events: list[Envelope]) -> list[Outbound]:
        return [Outbound.event(self.topics.events, e) for e in events]

    def _reconcile(self, cause: Envelope, household: Household) -> list[Envelope]:
        facts, classification = household.facts, household.classification
        if facts is None or classification is None:
            raise Rejected("household classified before it was identified")
        on = cause.occurred_at.date()
        try:
            needs = needed_programs(facts, classification, on)
        except ValueError as error:
            raise Rejected(f"needs of household {cause.household_id}: {error}") from None
        household.answered &= set(needs)
        issued = [
            self._issue(cause, household, need)
            for program, need in sorted(needs.items())
            if program not in household.open_by_program and program not in household.answered
        ]
        withdrawn = [
            self._withdraw(cause, household, referral, classification)
            for program, referral in sorted(household.open_by_program.items())
            if program not in needs and program is not Program.CHARITY_LINKAGE
        ]
        return issued + withdrawn

    def _after_outcome(
        self, cause: Envelope, outcome: ReferralOutcomeReported, household: Household
    ) -> list[Envelope]:
        referral = household.open_by_program.get(outcome.program)
        if referral is None or referral.referral_id != outcome.referral_id:
            return []  # withdrawn or superseded meanwhile: nothing follows from it
        if outcome.outcome is Outcome.ACCEPTED:
            return []
        del household.open_by_program[outcome.program]
        if outcome.outcome is not Outcome.TRANSFERRED:
            household.answered.add(outcome.program)
        if household.facts is None or household.classification is None:
            return []
        if outcome.outcome is Outcome.DECLINED and outcome.reason is DeclineReason.NOT_COVERED:
            if Program.CHARITY_LINKAGE in household.open_by_program:
                return []
            need = charity_linkage_need(
                outcome.program,
                outcome.department,
                referral.member_ids,
                household.classification,
            )
            return [self._issue(cause, household, need)]
        if outcome.outcome is Outcome.TRANSFERRED and outcome.transfer_to is not None:
            need = Need(
                outcome.program,
                Department(outcome.transfer_to),
                referral.member_ids,
                dict(referral.grounds),
            )
            return [self._issue(cause, household, need, transferred_from=referral.referral_id)]
        return []

    def _issue(
        self, cause: Envelope, household: Household, need: Need, transferred_from: str | None = None
    ) -> Envelope:
        assert household.facts is not None and household.classification is not None
        referral_id = (
            f"R-{derived_event_id(cause.event_id, need.program, need.department).hex[:20]}"
        )
        due_at = referral_due_at(cause.occurred_at, need.department, self.policy)
        document = referral_payload(
            need, household.classification, household.facts, referral_id=referral_id, due_at=due_at
        )
        if transferred_from:
            document["transferred_from"] = transferred_from
        payload = ReferralIssued.model_validate(document)
        household.open_by_program[need.program] = OpenReferral.of(payload)
        log.info(
            "referral issued",
            household_id=cause.household_id,
            referral_id=referral_id,
            program=need.program.value,
            department=need.department.value,
            event_type="ReferralIssued",
            correlation_id=str(cause.correlation_id),
        )
        return self._event(payload, cause, referral_id)

    def _withdraw(
        self,
        cause: Envelope,
        household: Household,
        referral: OpenReferral,
        classification: Classification,
    ) -> Envelope:
        del household.open_by_program[referral.program]
        payload = ReferralWithdrawn(
            referral_id=referral.referral_id,
            program=referral.program,
            department=referral.department,
            reason=f"re-screening on {cause.occurred_at.date()}: tier "
            f"{classification.tier.value} no longer grounds {referral.program.value}",
        )
        log.info(
            "referral withdrawn",
            household_id=cause.household_id,
            referral_id=referral.referral_id,
            program=referral.program.value,
            event_type="ReferralWithdrawn",
            correlation_id=str(cause.correlation_id),
        )
        return self._event(payload, cause, f"withdraw:{referral.referral_id}")

    def _event(self, payload: object, cause: Envelope, purpose: str) -> Envelope:
        return new_event(
            payload,  # type: ignore[arg-type]
            household_id=cause.household_id,
            producer=SERVICE,
            occurred_at=cause.occurred_at,
            event_id=derived_event_id(cause.event_id, purpose),
            cause=cause,
        )
