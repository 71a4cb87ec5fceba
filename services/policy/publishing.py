"""Events of `assist.policy` and the shipped standards as its first version.

Every event of a version has an id derived from the version's name and what happened to it
(names are never reused), so publishing the same decision twice, by a retry or by two instances
starting at once, leaves the same event that the fold takes once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from events.codec import DecodeError, decode_event
from events.envelope import Envelope, derived_event_id, new_event
from events.policy import PolicyVersionApproved, PolicyVersionProposed, PolicyVersionWithdrawn
from services.rules.standards import SHIPPED_BY, shipped_proposal
from services.runtime.kafka import ConsumerRecord, make_consumer, read_to_end
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings

SERVICE = "policy"
log = get_logger()

PolicyPayload = PolicyVersionProposed | PolicyVersionApproved | PolicyVersionWithdrawn


class Publisher(Protocol):
    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None: ...


def policy_event(payload: PolicyPayload, at: datetime) -> Envelope:
    """The envelope of a version's proposal or decision (no household: key = the version),
    made at `at` by the system's clock."""
    return new_event(
        payload,
        household_id=None,
        producer=SERVICE,
        occurred_at=at,
        recorded_at=at,
        event_id=derived_event_id(
            "policy-version", payload.policy_version, payload.event_type.value
        ),
    )


async def publish_policy_event(publisher: Publisher, topic: str, event: Envelope) -> None:
    payload = event.payload
    assert isinstance(payload, PolicyPayload)
    await publisher.publish(topic, event, payload.policy_version.encode())


async def ensure_shipped_version(
    kafka: KafkaSettings, topic: str, publisher: Publisher, now: datetime
) -> int:
    """Publish the shipped standards as the first version, proposed and approved, unless
    `assist.policy` holds them already; how many events were published."""
    proposal = shipped_proposal()
    seen = await _decisions_on(kafka, topic, proposal.policy_version)
    wanted: list[PolicyPayload] = [
        proposal,
        PolicyVersionApproved(policy_version=proposal.policy_version, approved_by=SHIPPED_BY),
    ]
    missing = [p for p in wanted if p.event_type.value not in seen]
    for payload in missing:
        await publish_policy_event(publisher, topic, policy_event(payload, now))
    if missing:
        log.info(
            "shipped standards published as the first policy version",
            policy_version=proposal.policy_version,
            events=[p.event_type.value for p in missing],
        )
    return len(missing)


async def _decisions_on(kafka: KafkaSettings, topic: str, name: str) -> set[str]:
    """The event types `topic` holds about version `name`, read from its start to its end."""
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        seen: set[str] = set()

        def take(record: ConsumerRecord) -> None:
            try:
                event = decode_event(record.value)
            except DecodeError:
                return
            if getattr(event.payload, "policy_version", None) == name:
                seen.add(event.event_type.value)

        await read_to_end(consumer, topic, take)
        return seen
    finally:
        await consumer.stop()
