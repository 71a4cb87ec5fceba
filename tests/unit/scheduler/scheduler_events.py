"""Events the scheduler reads, and a stand-in for the rest of the loop, for scheduler tests.

`Loop` plays the chain writer, identification and classification around the real handler:
every RescreeningDue the scheduler fires is chained once (a repeated event id is dropped, as
the chain writer does) and answered by a classification at its date whose next date is the
first of the household's scripted dates after it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.topics import TopicNames
from events.clock import ClockAdvanced, ClockMode
from events.codec import decode_event
from events.envelope import Envelope, Payload, derived_event_id, new_event
from events.household import HouseholdClassified, NextRescreening
from events.identity import make_resident_id
from events.policy import PolicyVersionApproved, PolicyVersionWithdrawn
from events.schedule import HouseholdClosed, RescreeningDue
from events.types import ClosureReason, RescreeningReason
from services.rules.standards import shipped_proposal
from services.runtime.messages import Inbound, Outbound
from services.scheduler.timers import DatesThatMatter

TOPICS = TopicNames("")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HANGZHOU = "330100"
CHILD = make_resident_id(HANGZHOU, date(2011, 3, 10), 7)


def midnight(on: date) -> datetime:
    """The start of `on` in Hangzhou."""
    return datetime(on.year, on.month, on.day, tzinfo=SHANGHAI)


def event(payload: Payload, household_id: str | None, at: datetime, *parts: object) -> Envelope:
    return new_event(
        payload,
        household_id=household_id,
        producer="test",
        occurred_at=at,
        recorded_at=at,
        event_id=derived_event_id("test", household_id, *parts),
    )


def next_date(on: date, reason: RescreeningReason = RescreeningReason.BIRTHDAY) -> NextRescreening:
    if reason is RescreeningReason.BIRTHDAY:
        return NextRescreening(on=on, reason=reason, person_id=CHILD, age=16)
    return NextRescreening(on=on, reason=reason)


def classified(
    household_id: str,
    effective: date,
    following: NextRescreening | None,
    region: str = HANGZHOU,
) -> Envelope:
    payload = HouseholdClassified(
        region_code=region,
        effective_date=effective,
        tier="MARGINAL",
        policy_version="2026-01",
        rule_trace={"decided_by": "test"},
        next_rescreening=following,
    )
    return event(payload, household_id, midnight(effective), "classified", effective, following)


def rescreening(household_id: str, on: date, reason: RescreeningReason) -> Envelope:
    payload = RescreeningDue(reason=reason, on=on)
    return event(payload, household_id, midnight(on), "rescreening", on)


def closed(household_id: str, on: date) -> Envelope:
    payload = HouseholdClosed(reason=ClosureReason.LAST_MEMBER_DIED, on=on)
    return event(payload, household_id, midnight(on), "closed", on)


def tick(now: datetime) -> Envelope:
    payload = ClockAdvanced(now=now, mode=ClockMode.MANUAL, advanced_by="operator.zhao")
    return event(payload, None, now, "tick", now.isoformat())


def version_events(name: str, effective_from: date, approved: bool = True) -> list[Envelope]:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    proposal = shipped_proposal().model_copy(
        update={"policy_version": name, "effective_from": effective_from, "proposed_by": "chen"}
    )
    events = [event(proposal, None, at, "proposed", name)]
    if approved:
        approval = PolicyVersionApproved(policy_version=name, approved_by="policy.liu")
        events.append(event(approval, None, at, "approved", name))
    return events


def withdrawal(name: str) -> Envelope:
    payload = PolicyVersionWithdrawn(policy_version=name, withdrawn_by="policy.liu")
    return event(payload, None, datetime(2026, 6, 2, tzinfo=UTC), "withdrawn", name)


@dataclass
class Feed:
    """Hands messages to a handler with offsets per topic, as the processor would."""

    handler: DatesThatMatter
    offsets: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def message(self, topic: str, value: bytes, key: bytes | None = None) -> Inbound:
        offset = self.offsets[topic]
        self.offsets[topic] += 1
        return Inbound(topic, 0, offset, key, value)

    def put(self, topic: str, events: list[Envelope], replaying: bool = False) -> None:
        for item in events:
            assert not self.handler.handle(self.message(topic, item.to_bytes()), replaying)

    def chain(self, *events: Envelope, replaying: bool = False) -> None:
        self.put(TOPICS.chain, list(events), replaying)

    def clock(self, now: datetime, replaying: bool = False) -> None:
        self.put(TOPICS.clock, [tick(now)], replaying)

    def policy(self, *events: Envelope, replaying: bool = False) -> None:
        self.put(TOPICS.policy, list(events), replaying)

    def tick(self) -> list[Envelope]:
        """The processor's timer call, with a wall time the handler must not use."""
        out = self.handler.tick(datetime(2099, 1, 1, tzinfo=UTC))
        return [decode_event(o.value) for o in out]


def dues(events: list[Envelope]) -> list[tuple[str, date, str]]:
    result = []
    for item in events:
        assert isinstance(item.payload, RescreeningDue)
        result.append((str(item.household_id), item.payload.on, item.payload.reason.value))
    return result


@dataclass
class Loop:
    """The scheduler between a chain writer and a classification that follows a script."""

    feed: Feed
    script: dict[str, list[NextRescreening]] = field(default_factory=dict)
    chain: list[Envelope] = field(default_factory=list)  # every chain message, in order
    chained_ids: set[uuid.UUID] = field(default_factory=set)
    fired: list[Envelope] = field(default_factory=list)  # everything the scheduler proposed

    def on_chain(self, *events: Envelope) -> None:
        for item in events:
            if item.event_id in self.chained_ids:
                continue  # the chain writer drops a repeat
            self.chained_ids.add(item.event_id)
            self.chain.append(item)
            self.feed.chain(item)

    def start(self, household_id: str, evaluated: date) -> None:
        self.on_chain(classified(household_id, evaluated, self._after(household_id, evaluated)))

    def run(self, rounds: int = 100) -> list[Envelope]:
        """Tick, chain what fired, answer each with a classification, until nothing fires."""
        chained: list[Envelope] = []
        for _ in range(rounds):
            fired = self.feed.tick()
            if not fired:
                return chained
            self.fired += fired
            for due in fired:
                if due.event_id in self.chained_ids:
                    continue
                self.on_chain(due)
                chained.append(due)
                assert isinstance(due.payload, RescreeningDue)
                household, on = str(due.household_id), due.payload.on
                self.on_chain(classified(household, on, self._after(household, on)))
        raise AssertionError("the scheduler kept firing")

    def _after(self, household_id: str, on: date) -> NextRescreening | None:
        later = [n for n in self.script.get(household_id, []) if n.on > on]
        return min(later, key=lambda n: n.on) if later else None


def outbound_events(outputs: list[Outbound]) -> list[Envelope]:
    return [decode_event(o.value) for o in outputs]


DAY = timedelta(days=1)
