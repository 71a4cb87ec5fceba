"""One identification handler and the topics it consumes, for the identification tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from support.loop import TOPICS, decode_all, event

from events.envelope import Envelope
from events.household import HouseholdIdentified
from events.schedule import RescreeningDue
from events.types import RescreeningReason
from services.identification.handler import Identification
from services.rules.standards import PolicyBook
from services.runtime.messages import Inbound

POLICY = PolicyBook.load_default()


class Feed:
    """Feeds one identification handler as its processor would, and returns what it emits."""

    def __init__(self, policy: PolicyBook = POLICY) -> None:
        self.handler = Identification(TOPICS, policy)
        self.offset = 0

    def chain(self, event: Envelope) -> list[Envelope]:
        return self.raw(TOPICS.chain, event.to_bytes(), event.key)

    def chain_all(self, events: Iterable[Envelope]) -> list[Envelope]:
        return [out for e in events for out in self.chain(e)]

    def monitoring(self, event: Envelope) -> list[Envelope]:
        person = getattr(event.payload, "person_id", "")
        return self.raw(TOPICS.monitoring, event.to_bytes(), person.encode())

    def policy(self, event: Envelope) -> list[Envelope]:
        return self.raw(TOPICS.policy, event.to_bytes(), b"policy")

    def raw(self, topic: str, value: bytes | None, key: bytes | None = None) -> list[Envelope]:
        self.offset += 1
        outputs = self.handler.handle(Inbound(topic, 0, self.offset, key, value), replaying=False)
        assert all(o.topic == TOPICS.events for o in outputs)
        events = decode_all(outputs)
        assert [o.key for o in outputs] == [e.key for e in events]
        return events


def types(events: Iterable[Envelope]) -> list[str]:
    return [e.event_type.value for e in events]


def identified(events: Iterable[Envelope]) -> HouseholdIdentified:
    """The one HouseholdIdentified among `events`."""
    [found] = [e.payload for e in events if isinstance(e.payload, HouseholdIdentified)]
    assert isinstance(found, HouseholdIdentified)
    return found


def rescreening_due(
    household_id: str,
    on: date,
    at: datetime,
    reason: RescreeningReason = RescreeningReason.PERIODIC_REVIEW,
    **fields: Any,
) -> Envelope:
    """A RescreeningDue as the scheduler appends it (at midnight of `on`, region time)."""
    payload = RescreeningDue(reason=reason, on=on, **fields)
    return event(payload, household_id, at, producer="scheduler")
