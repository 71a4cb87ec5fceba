"""Identification: one household's facts, compared with records, before classification.

Consumes the chain (applications, visit results, re-screenings), the monitoring topic (records
and signals about persons) and the policy topic (approved versions of the standards). Keeps the
person -> household index, the latest records, each household's file and the signals kept for
later; emits HouseholdIdentified, HouseholdClosed, RescreeningDue (a member moved),
VisitRequested, RiskWarningRaised, and forwards records and signals about known persons into
their household's chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from aiokafka import AIOKafkaConsumer

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, Payload, derived_event_id, new_event
from events.household import HouseholdDeclaration, HouseholdIdentified, VisitCompleted
from events.monitoring import RecordReported, SignalReceived
from events.schedule import RescreeningDue
from events.types import EventType, FactSource, RescreeningReason
from services.identification.domain.comparison import compare
from services.identification.domain.households import HouseholdFile
from services.identification.domain.pending import KeptSignal, kept_with, stray, usable
from services.identification.domain.records import PersonRecord, merge_record
from services.identification.domain.warnings import risk_warning
from services.identification.requests import visit_for_discrepancies, warning_and_visit
from services.rules.standards import PolicyBook
from services.rules.versions import PolicyVersions
from services.runtime.clock import recorded_now
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.policy_topic import read_policy_topic

SERVICE = "identification"
log = get_logger()
# On the chain only declarations and re-screenings matter; other event types found by a look
# at the bytes are skipped undecoded (garbage is still decoded, and refused).
_SKIPPED = frozenset(EventType) - {
    EventType.APPLICATION_RECEIVED,
    EventType.VISIT_COMPLETED,
    EventType.RESCREENING_DUE,
}


class Identification:
    def __init__(self, topics: TopicNames, policy: PolicyBook | None = None) -> None:
        self.topics = topics
        # The standards: `policy` (the shipped ones by default) plus every approved version.
        self.versions = PolicyVersions(book=policy or PolicyBook.load_default())
        self.records: dict[str, PersonRecord] = {}
        self.households_of: dict[str, str] = {}  # person_id -> open household_id
        self.files: dict[str, HouseholdFile] = {}
        self.strays: dict[str, list[KeptSignal]] = {}  # person_id -> quiet signals, 12 months
        # Whether the message being handled is replayed (its outputs were written long ago):
        # its state is taken in, nothing is serialised and nothing is logged again.
        self._replaying = False

    @property
    def book(self) -> PolicyBook:
        return self.versions.book

    async def bootstrap(self, consumer_factory: Callable[[], AIOKafkaConsumer]) -> None:
        """Every approved version before the inputs are replayed (see policy.py)."""
        await read_policy_topic(consumer_factory, self.topics.policy, self.versions)

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.chain and message.event_type in _SKIPPED:
            return []  # a chain event of another kind: skip the decode (most of the chain)
        self._replaying = replaying
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if message.topic == self.topics.policy:
            self.versions.fold(event)
            return []
        if message.topic == self.topics.monitoring:
            outputs = self._monitoring(event)
        else:
            outputs = self._chain(event)
        if replaying:
            return []
        return [Outbound.event(self.topics.events, e) for e in outputs]

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def _note(self, message: str, warn: bool = False, **fields: object) -> None:
        """Log what handling a message did: once, not again at every replay of it."""
        if not self._replaying:
            (log.warning if warn else log.info)(message, **fields)

    def _chain(self, event: Envelope) -> list[Envelope]:
        payload = event.payload
        if isinstance(payload, RescreeningDue):
            return self._rescreening(event, payload)
        if isinstance(payload, VisitCompleted):
            return self._declared(event, payload, FactSource.VISIT)
        if isinstance(payload, HouseholdDeclaration):
            return self._declared(event, payload, FactSource.DECLARED)
        return []

    def _declared(
        self, cause: Envelope, declaration: HouseholdDeclaration, source: FactSource
    ) -> list[Envelope]:
        household = str(cause.household_id)
        on = self._date(declaration.region_code, cause.occurred_at)
        file = self.files.get(household)
        if file is not None and file.closed:
            self._note("declaration for a closed household ignored", True, household_id=household)
            return []
        file = file or self.files.setdefault(
            household, HouseholdFile(declaration.region_code, persons=[])
        )
        persons = [m.person_id for m in declaration.members]
        outputs = self._moved_out(cause, household, persons, on)
        outputs += self._strays_taken(household, persons, on)
        before, file.persons, file.region_code = file.persons, persons, declaration.region_code
        self._index(household, before, file)
        comparison = compare(declaration, self.records, source)
        if comparison.discrepancies and source is FactSource.DECLARED:
            request = visit_for_discrepancies(cause, declaration, comparison.discrepancies)
            file.visit_id = request.visit_id
            self._note(
                "discrepancy: visit requested",
                household_id=household,
                visit_id=request.visit_id,
                correlation_id=str(cause.correlation_id),
                event_type="VisitRequested",
            )
            return [*outputs, self._event(request, cause, "visit")]
        result = file.declared(declaration, comparison, source, on, self.records)
        self._index(household, persons, file)
        return [*outputs, self._event(result, cause, _purpose(result))]

    def _moved_out(
        self, cause: Envelope, household: str, persons: list[str], on: date
    ) -> list[Envelope]:
        """Persons the declaration names who belong to another open household move: that one
        gets a RescreeningDue per person and is re-screened without them, or closed."""
        leaving: dict[str, list[str]] = {}
        for person in persons:
            old = self.households_of.get(person)
            if old is not None and old != household:
                leaving.setdefault(old, []).append(person)
        outputs: list[Envelope] = []
        for old, movers in leaving.items():
            old_file = self.files[old]
            self.files[household].pending += old_file.released(movers)
            dues = [
                self._event(
                    RescreeningDue(reason=RescreeningReason.MEMBER_MOVED, on=on, person_id=p),
                    cause,
                    "moved",
                    p,
                    household=old,
                )
                for p in movers
            ]
            before = old_file.persons
            result = old_file.without(movers, on, self.records)
            self._index(old, before, old_file)
            outputs += dues
            if result is not None:
                outputs.append(self._event(result, dues[-1], _purpose(result)))
            self._note("members moved", household_id=old, to=household, persons=len(movers))
        return outputs

    def _strays_taken(self, household: str, persons: Iterable[str], on: date) -> list[Envelope]:
        """Quiet signals kept about these persons join the household's file (forwarded into
        its chain now, applied when it is identified)."""
        file, forwarded = self.files[household], []
        for person in persons:
            for kept in usable(self.strays.pop(person, []), on):
                file.pending.append(kept)
                forwarded.append(kept.event.model_copy(update={"household_id": household}))
        return forwarded

    def _rescreening(self, cause: Envelope, due: RescreeningDue) -> list[Envelope]:
        if cause.producer == SERVICE:
            return []  # a member moved: re-screened when identification wrote it
        file = self.files.get(str(cause.household_id))
        trigger = f"rescreening:{due.reason.value}"
        facts = file.rescreened(due.on, trigger, self.records) if file else None
        return [self._event(facts, cause, "identified")] if facts else []

    def _monitoring(self, event: Envelope) -> list[Envelope]:
        payload = event.payload
        if isinstance(payload, RecordReported):
            self.records[payload.person_id] = merge_record(
                self.records.get(payload.person_id), payload
            )
            household = self.households_of.get(payload.person_id)
            return [event.model_copy(update={"household_id": household})] if household else []
        if not isinstance(payload, SignalReceived):
            raise Rejected(f"event_type: {event.event_type.value} does not belong on monitoring")
        on = self._date(payload.region_code, event.occurred_at)
        household = self.households_of.get(payload.person_id)
        if household is not None:
            return self._signal_for_household(event, payload, household, on)
        return self._signal_for_unknown_person(event, payload, on)

    def _signal_for_household(
        self, event: Envelope, signal: SignalReceived, household: str, on: date
    ) -> list[Envelope]:
        forwarded = event.model_copy(update={"household_id": household})
        file = self.files[household]
        before = file.persons
        result = file.signal(KeptSignal(forwarded, signal, on), self.records)
        self._index(household, before, file)
        if result is None:
            return [forwarded]
        self._note(
            "signal re-screens household",
            household_id=household,
            kind=signal.kind.value,
            outcome=result.event_type.value,
            correlation_id=str(event.correlation_id),
        )
        return [forwarded, self._event(result, forwarded, _purpose(result))]

    def _signal_for_unknown_person(
        self, event: Envelope, signal: SignalReceived, on: date
    ) -> list[Envelope]:
        try:
            standard = self.book.in_force(signal.region_code, on)
        except LookupError as error:
            raise Rejected(f"region_code: {error}") from None
        warning = risk_warning(signal, standard)
        if warning is None:  # kept a while: the person may yet turn out to have a household
            kept = self.strays.get(signal.person_id, [])
            self.strays[signal.person_id] = kept_with(kept, stray(event, signal, on))
            return []
        household = f"HH-W{derived_event_id(event.event_id, 'household').hex[:15].upper()}"
        forwarded = event.model_copy(update={"household_id": household})
        raised, request = warning_and_visit(forwarded, signal, warning)
        file = HouseholdFile(signal.region_code, [signal.person_id], visit_id=request.visit_id)
        self.files[household] = file
        taken = self._strays_taken(household, [signal.person_id], on)
        file.pending.append(KeptSignal(forwarded, signal, on))
        self._index(household, [], file)
        raised_event = self._event(raised, forwarded, "warning")
        self._note(
            "risk warning raised",
            household_id=household,
            visit_id=request.visit_id,
            kind=signal.kind.value,
            correlation_id=str(event.correlation_id),
            event_type="RiskWarningRaised",
        )
        return [*taken, forwarded, raised_event, self._event(request, raised_event, "visit")]

    def _index(self, household: str, before: Iterable[str], file: HouseholdFile) -> None:
        """The person index follows the file: who left it leaves the index."""
        for person in before:
            if person not in file.persons and self.households_of.get(person) == household:
                del self.households_of[person]
        for person in file.persons:
            self.households_of[person] = household

    def _date(self, region_code: str, instant: datetime) -> date:
        """The effective date of an event: its date in the region's time zone."""
        try:
            return self.book.local_date(region_code, instant)
        except LookupError as error:
            raise Rejected(f"region_code: {error}") from None

    def _event(
        self,
        payload: Payload,
        cause: Envelope,
        purpose: str,
        *parts: object,
        household: str | None = None,
    ) -> Envelope:
        return new_event(
            payload,
            household_id=household or cause.household_id,
            producer=SERVICE,
            occurred_at=cause.occurred_at,
            event_id=derived_event_id(cause.event_id, purpose, *parts),
            cause=cause,
            recorded_at=recorded_now(cause),
        )


def _purpose(result: Payload) -> str:
    return "identified" if isinstance(result, HouseholdIdentified) else "closed"
