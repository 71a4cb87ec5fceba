"""The closed loop in memory: the real handlers wired like the real topology, without a broker.

    proposed event -> assist.events -> chain writer -> assist.chain
        -> identification, classification, referral, feedback -> assist.events -> ...

Monitoring messages go to identification, feedback messages to the feedback handler, policy
messages to the processors that judge households, clock ticks to the processors with timers
(`tick` moves the system's clock, then fires their timers). Messages move first in, first out,
so every consumer sees the chain in chain order, as a consumer of one partition would. A
handler's Rejected becomes a dead letter here, as the processor would make it.
Builders of the households and messages the unit tests share are at the end.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.clock import ClockAdvanced, ClockMode
from events.codec import decode_event
from events.envelope import Envelope, Payload, derived_event_id, new_event
from events.feedback import FeedbackRefused
from events.household import ApplicationReceived, VisitCompleted
from events.identity import make_resident_id
from events.monitoring import RecordReported, SignalReceived
from events.types import Department, SignalKind
from services.chainwriter.writer import ChainWriter
from services.classification.handler import ClassificationHandler
from services.feedback.handler import FeedbackHandler
from services.identification.handler import Identification
from services.referral.handler import ReferralHandler
from services.rules.standards import PolicyBook
from services.runtime.messages import Inbound, Outbound, Rejected

TOPICS = TopicNames("")
POLICY = PolicyBook.load_default()
ON = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a date under policy 2026-01
HANGZHOU = "330100"  # D = 1240, M = 1860, medical warning 20000
CHONGQING = "500000"  # D = 800, medical warning 15000


@dataclass(frozen=True)
class DeadLetter:
    service: str
    topic: str
    reason: str
    value: bytes | None


@dataclass
class Loop:
    """Every handler of the loop, each fed what its processor would consume."""

    topics: TopicNames = TOPICS
    policy: PolicyBook = POLICY
    log: dict[str, list[bytes]] = field(default_factory=dict)  # every message, by topic
    chain: list[Envelope] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    clock_ms: int = int(ON.timestamp() * 1000)  # Kafka timestamp of the messages put in

    def __post_init__(self) -> None:
        self.writer = ChainWriter(self.topics)
        self.identification = Identification(self.topics, self.policy)
        self.classification = ClassificationHandler(self.topics, self.policy)
        self.referral = ReferralHandler(self.topics, self.policy)
        self.feedback = FeedbackHandler(self.topics)
        self.chain_consumers: list[tuple[str, Any]] = [
            ("identification", self.identification),
            ("classification", self.classification),
            ("referral", self.referral),
            ("feedback", self.feedback),
        ]
        # Who reads assist.policy and assist.clock, as their processors do; `timers` are the
        # handlers whose tick fires domain timers (a processor with timers adds itself to both).
        self.policy_consumers: list[tuple[str, Any]] = [
            ("identification", self.identification),
            ("classification", self.classification),
            ("referral", self.referral),
        ]
        self.clock_consumers: list[tuple[str, Any]] = [("feedback", self.feedback)]
        self.timers: list[tuple[str, Any]] = [("feedback", self.feedback)]

    # What goes in; each returns the events chained as a consequence, in chain order.

    def submit(self, event: Envelope) -> list[Envelope]:
        """Propose an event to assist.events, as intake does."""
        return self.run([Outbound.event(self.topics.events, event)])

    def monitor(self, event: Envelope) -> list[Envelope]:
        """A record or signal on assist.monitoring (keyed by person)."""
        message = self._put(Outbound(self.topics.monitoring, None, event.to_bytes()))
        return self.run(self._deliver("identification", self.identification, message))

    def monitor_all(self, events: Iterable[Envelope]) -> list[Envelope]:
        """Several monitoring messages taken by identification before anything else moves, as
        when identification runs ahead of classification."""
        outputs: list[Outbound] = []
        for event in events:
            message = self._put(Outbound(self.topics.monitoring, None, event.to_bytes()))
            outputs += self._deliver("identification", self.identification, message)
        return self.run(outputs)

    def answer(
        self, referral_id: str, department: Department | str, outcome: str, **fields: Any
    ) -> list[Envelope]:
        """A department's feedback on assist.feedback; a new answer (its own feedback_id, fixed
        by its position, so two runs of the loop make the same ids) unless `fields` name one."""
        position = len(self.log.get(self.topics.feedback, []))
        body = {
            "referral_id": referral_id,
            "department": str(department),
            "outcome": outcome,
            "feedback_id": str(derived_event_id("loop-feedback", position)),
            **fields,
        }
        return self.answer_raw(canonical_json(body), referral_id.encode())

    def answer_raw(self, value: bytes, key: bytes | None = None) -> list[Envelope]:
        message = self._put(Outbound(self.topics.feedback, key, value))
        return self.run(self._deliver("feedback", self.feedback, message))

    def policy_event(self, event: Envelope) -> list[Envelope]:
        """A proposal, approval or withdrawal on assist.policy."""
        key = str(getattr(event.payload, "policy_version", "")).encode()
        message = self._put(Outbound(self.topics.policy, key, event.to_bytes()))
        outputs: list[Outbound] = []
        for name, consumer in self.policy_consumers:
            outputs += self._deliver(name, consumer, message)
        return self.run(outputs)

    def advance_clock(self, now: datetime) -> list[Envelope]:
        """The system's clock moves to `now`: a ClockAdvanced on assist.clock, read by every
        clock consumer (no timer fires until `tick`)."""
        tick = new_event(
            ClockAdvanced(now=now, mode=ClockMode.MANUAL, advanced_by="operator.test"),
            household_id=None,
            producer="scheduler",
            occurred_at=now,
            recorded_at=now,
            event_id=derived_event_id("clock", now.isoformat()),
        )
        return self.clock_raw(tick.to_bytes())

    def clock_raw(self, value: bytes) -> list[Envelope]:
        message = self._put(Outbound(self.topics.clock, b"clock", value))
        outputs: list[Outbound] = []
        for name, consumer in self.clock_consumers:
            outputs += self._deliver(name, consumer, message)
        return self.run(outputs)

    def tick(self, now: datetime) -> list[Envelope]:
        """The clock moves to `now`, then every processor with timers ticks (as between
        batches; their timers read the clock, not the `now` they are given)."""
        chained = self.advance_clock(now)
        for _, handler in self.timers:
            chained += self.run(handler.tick(now))
        return chained

    def run(self, outbound: Iterable[Outbound]) -> list[Envelope]:
        """Move messages until nothing more happens."""
        start = len(self.chain)
        queue = deque(outbound)
        while queue:
            message = self._put(queue.popleft())
            if message.topic != self.topics.events:
                continue
            for chained in self._deliver("chainwriter", self.writer, message):
                on_chain = self._put(chained)
                if on_chain.topic != self.topics.chain:
                    continue  # a department's copy of a referral event
                self.chain.append(decode_event(on_chain.value))
                for name, consumer in self.chain_consumers:
                    queue.extend(self._deliver(name, consumer, on_chain))
        return self.chain[start:]

    # What came out.

    def chain_of(self, household_id: str | None) -> list[Envelope]:
        return [e for e in self.chain if e.household_id == household_id]

    def department_topic(self, department: Department | str) -> list[bytes]:
        """The referral events a department received (its refusals are in `refusals`)."""
        return [
            value
            for value in self.log.get(self.topics.referrals(department), [])
            if not _is_refusal(value)
        ]

    def refusals(self, department: Department | str) -> list[FeedbackRefused]:
        """The refusals of its answers told back on a department's topic."""
        return [
            FeedbackRefused.model_validate_json(value)
            for value in self.log.get(self.topics.referrals(department), [])
            if _is_refusal(value)
        ]

    def _put(self, message: Outbound) -> Inbound:
        messages = self.log.setdefault(message.topic, [])
        messages.append(message.value)
        return Inbound(
            message.topic,
            0,
            len(messages) - 1,
            message.key,
            message.value,
            self.clock_ms,
            message.headers,  # as Kafka carries them: the event type, the writer's signature
        )

    def _deliver(self, service: str, handler: Any, message: Inbound) -> Sequence[Outbound]:
        try:
            return list(handler.handle(message, replaying=False))
        except Rejected as rejected:
            self.dead_letters.append(
                DeadLetter(service, message.topic, str(rejected), message.value)
            )
            return []


def _is_refusal(value: bytes) -> bool:
    return bool(json.loads(value).get("event_type") == "FeedbackRefused")


def of_type(events: Iterable[Envelope], event_type: str) -> list[Envelope]:
    return [e for e in events if e.event_type.value == event_type]


def decode_all(outputs: Iterable[Outbound]) -> list[Envelope]:
    return [decode_event(o.value) for o in outputs]


# Builders: households and messages as intake would have accepted them.

_serial = iter(range(1, 1000))


def new_person(birth: date = date(1980, 5, 17), region: str = HANGZHOU) -> str:
    """A valid resident id never used before in this test process."""
    return make_resident_id(region, birth, next(_serial))


def member(
    birth: date = date(1980, 5, 17),
    income: int | str | Decimal = 0,
    employment: str = "unemployed",
    capacity: str = "full",
    relation: str = "head",
    **flags: Any,
) -> dict[str, Any]:
    return {
        "person_id": flags.pop("person_id", None) or new_person(birth),
        "name": f"{relation.title()} of the household",
        "birth_date": birth.isoformat(),
        "relation": relation,
        "monthly_income": str(income),
        "labour_capacity": capacity,
        "employment_status": employment,
        **flags,
    }


def declaration(
    members: list[dict[str, Any]], region: str = HANGZHOU, **facts: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region_code": region,
        "channel": "window",
        "members": members,
        "assets": {"deposits": "0", "vehicles": 0, "residential_properties": 1},
        "rigid_expenses_12m": {"medical": "0", "education": "0"},
        "dwelling_unsafe": False,
        "legal_supporter_able": False,
    }
    body.update(facts)
    return body


def dibao_members() -> list[dict[str, Any]]:
    """3 members, income 1500, pci 500 < D = 1240: an unemployed head, a child in school."""
    return [
        member(date(1986, 3, 1), 0, "unemployed", relation="head"),
        member(date(1988, 6, 1), 1500, "employed", relation="spouse"),
        member(date(2016, 9, 1), 0, "student", "none", relation="child", in_school=True),
    ]


DIBAO_FAMILY_REFERRALS = {
    ("minimum_living_allowance", "civil_affairs"),
    ("medical_assistance", "medical_security"),
    ("education_assistance", "education"),
    ("employment_assistance", "human_resources"),
}


def event(
    payload: Payload,
    household_id: str | None,
    occurred_at: datetime = ON,
    event_id: uuid.UUID | None = None,
    producer: str = "intake",
) -> Envelope:
    """An event as intake makes it, with a fixed recorded_at so bytes are reproducible."""
    return new_event(
        payload,
        household_id=household_id,
        producer=producer,
        occurred_at=occurred_at,
        recorded_at=occurred_at,
        event_id=event_id or uuid.uuid4(),
    )


def application(
    household_id: str,
    members: list[dict[str, Any]] | None = None,
    occurred_at: datetime = ON,
    **facts: Any,
) -> Envelope:
    payload = ApplicationReceived.model_validate(declaration(members or dibao_members(), **facts))
    return event(payload, household_id, occurred_at)


def visit_completed(
    household_id: str,
    visit_id: str,
    members: list[dict[str, Any]],
    occurred_at: datetime = ON,
    **facts: Any,
) -> Envelope:
    body = declaration(members, **facts) | {
        "channel": "home_visit",
        "visit_id": visit_id,
        "visitor": "grid-worker-7",
        "findings": "seen",
    }
    return event(VisitCompleted.model_validate(body), household_id, occurred_at)


def signal(
    kind: SignalKind | str,
    person_id: str,
    region: str = HANGZHOU,
    occurred_at: datetime = ON,
    **values: Any,
) -> Envelope:
    payload = SignalReceived.model_validate(
        {
            "kind": str(kind),
            "person_id": person_id,
            "region_code": region,
            "source_department": "medical_security",
            **values,
        }
    )
    return event(payload, None, occurred_at)


def record(person_id: str, reported_at: datetime = ON, **facts: Any) -> Envelope:
    payload = RecordReported.model_validate(
        {
            "person_id": person_id,
            "source_department": "human_resources",
            "reported_at": reported_at,
            **facts,
        }
    )
    return event(payload, None, reported_at)
