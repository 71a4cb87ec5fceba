"""Referral: push according to needs, one referral per program a household lacks.

From the chain it learns each household's facts and classification; the shared ledger
(services/rules/referral_ledger.py) decides which referrals to issue, amend and withdraw, and
this handler says so in events: it builds each referral's payload (what its department may
see), dates it by the service-level days of the policy version in force on the day it is
issued (versions come from `assist.policy`), and logs it. The chain writer delivers each
chained referral event to its department's topic.

Fed with `replaying=True` the handler only keeps the ledger (no payload is built, no event is
made). Its state is kept on local disk by partition of the chain
(services/runtime/kept_state.py), so a start replays only what the chain gained since the last
file was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, Payload, derived_event_id, new_event
from events.referral import ReferralAmended, ReferralIssued, ReferralWithdrawn
from events.types import Department
from services.referral.domain.disclosure import Pseudonym, amended_payload, referral_payload
from services.rules.facts import HouseholdFacts
from services.rules.programs import referral_due_at
from services.rules.reconcile import amendment_reason
from services.rules.referral_ledger import (
    KEPT,
    SKIPPED,
    STATE_VERSION,
    Amend,
    Decision,
    Household,
    Issue,
    LedgerRefused,
    ReferralLedger,
    Withdraw,
)
from services.rules.standards import PolicyBook
from services.rules.versions import PolicyVersions
from services.runtime.clock import recorded_now
from services.runtime.kept_state import schema_id
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected

SERVICE = "referral"
STATE_SCHEMA = schema_id(KEPT, STATE_VERSION)
log = get_logger()


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
        self.ledger = ReferralLedger()

    @property
    def policy(self) -> PolicyBook:
        return self.versions.book

    @property
    def households(self) -> dict[str, Household]:
        return self.ledger.households

    @property
    def state_topic(self) -> str:
        return self.topics.chain

    def dump_partition(self, partition: int) -> bytes:
        return self.ledger.dump_partition(partition)

    def load_partition(self, partition: int, data: bytes) -> None:
        self.ledger.load_partition(partition, data)

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.policy:
            self._fold_policy(message.value)
            return []
        if message.event_type in SKIPPED:
            return []
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        try:
            decisions = self.ledger.apply(event, message.partition)
        except LedgerRefused as error:
            raise Rejected(str(error)) from None
        if replaying or not decisions:
            return []
        household = self.ledger.households[str(event.household_id)]
        return [
            Outbound.event(self.topics.events, self._event_of(decision, event, household))
            for decision in decisions
        ]

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def _fold_policy(self, value: bytes | None) -> None:
        try:
            self.versions.fold(decode_event(value))
        except (DecodeError, LookupError, ValueError) as error:
            raise Rejected(f"policy message not taken: {error}") from None

    def _event_of(self, decision: Decision, cause: Envelope, household: Household) -> Envelope:
        if isinstance(decision, Issue):
            return self._issued(decision, cause, household)
        if isinstance(decision, Amend):
            return self._amended(decision, cause, household)
        return self._withdrawn(decision, cause)

    def _due_at(self, at: datetime, facts: HouseholdFacts, department: Department) -> datetime:
        """Due after the service-level days in force on the issuing day in the region."""
        try:
            on = self.policy.local_date(facts.region_code, at)
        except LookupError:  # a region only a version not yet read here knows: close enough
            on = at.date()
        return referral_due_at(at, department, self.policy, on)

    def _issued(self, issue: Issue, cause: Envelope, household: Household) -> Envelope:
        need, referral_id = issue.need, issue.referral_id
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
        if issue.transferred_from:
            document["transferred_from"] = issue.transferred_from
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
        return self._event(payload, cause, referral_id, occurred_at=issued_at)

    def _amended(self, amend: Amend, cause: Envelope, household: Household) -> Envelope:
        amendment, on = amend.amendment, amend.on
        referral_id, need = amendment.referral.referral_id, amendment.need
        assert household.facts is not None
        document = amended_payload(
            need,
            household.facts,
            referral_id=referral_id,
            reason=amendment_reason(amendment, on),
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
        return self._event(payload, cause, f"amend:{referral_id}")

    def _withdrawn(self, withdraw: Withdraw, cause: Envelope) -> Envelope:
        referral = withdraw.referral
        payload = ReferralWithdrawn(
            referral_id=referral.referral_id,
            program=referral.program,
            department=referral.department,
            reason=withdraw.reason,
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
