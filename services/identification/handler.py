"""Identification: one household's facts, compared with records, before classification.

Consumes the chain (applications and visit results) and the monitoring topic (records and
signals about persons). Keeps the person -> household index, the latest records, and each
household's identified facts; emits HouseholdIdentified, VisitRequested, RiskWarningRaised,
and forwards records and signals about known persons into their household's chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, derived_event_id, new_event
from events.household import (
    Emergency,
    HouseholdDeclaration,
    HouseholdIdentified,
    VisitCompleted,
    VisitRequested,
)
from events.monitoring import RecordReported, RiskWarningRaised, SignalReceived
from events.types import EMERGENCY_SIGNALS, EventType, FactSource
from services.identification.domain.comparison import compare
from services.identification.domain.records import PersonRecord, merge_record
from services.identification.domain.signals import apply_signal
from services.identification.domain.warnings import risk_warning
from services.policy.standards import PolicyBook
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.peek import event_type_of

SERVICE = "identification"
log = get_logger()
# On the chain only declarations matter; other event types found by a look at the bytes are
# skipped undecoded (garbage is still decoded, and refused).
_SKIPPED = frozenset(EventType) - {EventType.APPLICATION_RECEIVED, EventType.VISIT_COMPLETED}


class Identification:
    def __init__(self, topics: TopicNames, policy: PolicyBook) -> None:
        self.topics = topics
        self.policy = policy
        self.records: dict[str, PersonRecord] = {}
        self.households_of: dict[str, str] = {}  # person_id -> household_id
        self.facts: dict[str, HouseholdIdentified] = {}
        self.emergencies: dict[str, list[Emergency]] = {}  # known before the first identification
        self.awaiting_visit: dict[str, str] = {}  # household_id -> visit_id

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic != self.topics.monitoring and event_type_of(message.value) in _SKIPPED:
            return []  # a chain event of another kind: skip the decode (most of the chain)
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if message.topic == self.topics.monitoring:
            return [
                Outbound.event(self.topics.events, e) for e in self._monitoring(event, replaying)
            ]
        if isinstance(event.payload, VisitCompleted):
            outputs = self._declared(event, event.payload, FactSource.VISIT)
        elif isinstance(event.payload, HouseholdDeclaration):
            outputs = self._declared(event, event.payload, FactSource.DECLARED)
        else:
            return []
        return [Outbound.event(self.topics.events, e) for e in outputs]

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def _declared(
        self, cause: Envelope, declaration: HouseholdDeclaration, source: FactSource
    ) -> list[Envelope]:
        household = str(cause.household_id)
        for member in declaration.members:
            self.households_of[member.person_id] = household
        comparison = compare(declaration, self.records, source)
        if comparison.discrepancies and source is FactSource.DECLARED:
            visit_id = f"V-{derived_event_id(cause.event_id, 'visit').hex[:16]}"
            self.awaiting_visit[household] = visit_id
            request = VisitRequested(
                visit_id=visit_id,
                region_code=declaration.region_code,
                reason="declared income lower than the records by more than 10 %",
                person_ids=[d.person_id for d in comparison.discrepancies],
                discrepancies=comparison.discrepancies,
            )
            log.info(
                "discrepancy: visit requested",
                household_id=household,
                visit_id=visit_id,
                correlation_id=str(cause.correlation_id),
                event_type="VisitRequested",
            )
            return [self._event(request, cause, "visit")]
        self.awaiting_visit.pop(household, None)
        previous = self.facts.get(household)
        emergencies = (
            list(previous.emergencies) if previous else self.emergencies.pop(household, [])
        )
        facts = HouseholdIdentified(
            region_code=declaration.region_code,
            trigger="visit" if source is FactSource.VISIT else "application",
            members=comparison.members,
            assets=comparison.assets,
            rigid_expenses_12m=declaration.rigid_expenses_12m,
            dwelling_unsafe=declaration.dwelling_unsafe,
            legal_supporter_able=declaration.legal_supporter_able,
            emergencies=emergencies,
            provenance=comparison.provenance,
        )
        self.facts[household] = facts
        return [self._event(facts, cause, "identified")]

    def _monitoring(self, event: Envelope, replaying: bool) -> list[Envelope]:
        payload = event.payload
        if isinstance(payload, RecordReported):
            self.records[payload.person_id] = merge_record(
                self.records.get(payload.person_id), payload
            )
            household = self.households_of.get(payload.person_id)
            return [event.model_copy(update={"household_id": household})] if household else []
        if not isinstance(payload, SignalReceived):
            raise Rejected(f"event_type: {event.event_type.value} does not belong on monitoring")
        household = self.households_of.get(payload.person_id)
        if household is not None:
            return self._signal_for_household(event, payload, household)
        return self._signal_for_unknown_person(event, payload, replaying)

    def _signal_for_household(
        self, event: Envelope, signal: SignalReceived, household: str
    ) -> list[Envelope]:
        forwarded = event.model_copy(update={"household_id": household})
        on = event.occurred_at.date()
        facts = self.facts.get(household)
        if facts is None:  # still waiting for a visit: remember emergencies for later
            if signal.kind in EMERGENCY_SIGNALS:
                self.emergencies.setdefault(household, []).append(
                    Emergency(kind=signal.kind, on=on)
                )
            return [forwarded]
        updated = apply_signal(facts, signal, on)
        if updated is None:
            log.info(
                "last member left the household",
                household_id=household,
                correlation_id=str(event.correlation_id),
                event_type=event.event_type.value,
            )
            del self.facts[household]
            return [forwarded]
        self.facts[household] = updated
        log.info(
            "signal re-screens household",
            household_id=household,
            kind=signal.kind.value,
            correlation_id=str(event.correlation_id),
            event_type="HouseholdIdentified",
        )
        return [forwarded, self._event(updated, forwarded, "identified")]

    def _signal_for_unknown_person(
        self, event: Envelope, signal: SignalReceived, replaying: bool
    ) -> list[Envelope]:
        try:
            standard = self.policy.in_force(signal.region_code, event.occurred_at.date())
        except LookupError as error:
            raise Rejected(f"region_code: {error}") from None
        warning = risk_warning(signal, standard)
        if warning is None:
            return []
        household = f"HH-W{derived_event_id(event.event_id, 'household').hex[:15].upper()}"
        self.households_of[signal.person_id] = household
        if signal.kind in EMERGENCY_SIGNALS:
            self.emergencies.setdefault(household, []).append(
                Emergency(kind=signal.kind, on=event.occurred_at.date())
            )
        forwarded = event.model_copy(update={"household_id": household})
        raised = self._event(
            RiskWarningRaised(
                person_id=signal.person_id,
                region_code=signal.region_code,
                signal_kind=signal.kind,
                signal_event_id=str(event.event_id),
                reason=warning.reason,
                amount=signal.amount,
                threshold=warning.threshold,
            ),
            forwarded,
            "warning",
        )
        visit_id = f"V-{derived_event_id(event.event_id, 'visit').hex[:16]}"
        self.awaiting_visit[household] = visit_id
        visit = self._event(
            VisitRequested(
                visit_id=visit_id,
                region_code=signal.region_code,
                reason=f"risk warning: {warning.reason}",
                person_ids=[signal.person_id],
            ),
            raised,
            "visit",
        )
        log.info(
            "risk warning raised",
            household_id=household,
            visit_id=visit_id,
            kind=signal.kind.value,
            correlation_id=str(event.correlation_id),
            event_type="RiskWarningRaised",
        )
        return [forwarded, raised, visit]

    def _event(self, payload: object, cause: Envelope, purpose: str) -> Envelope:
        return new_event(
            payload,  # type: ignore[arg-type]
            household_id=cause.household_id,
            producer=SERVICE,
            occurred_at=cause.occurred_at,
            event_id=derived_event_id(cause.event_id, purpose),
            cause=cause,
        )
