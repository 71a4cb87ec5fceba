"""Classification: tiers and tags under the policy in force, for every identified household.

Stateless: each HouseholdIdentified carries every fact the rules read, so the output depends
on that event and the policy data alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import derived_event_id, new_event
from events.household import HouseholdIdentified
from services.classification.domain.classify import classify
from services.classification.translation import classified_payload, facts_from_identified
from services.policy.standards import PolicyBook
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected

SERVICE = "classification"
log = get_logger()


class ClassificationHandler:
    def __init__(self, topics: TopicNames, policy: PolicyBook) -> None:
        self.topics = topics
        self.policy = policy

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if not message.value or b'"event_type":"HouseholdIdentified"' not in message.value:
            return []  # everything else on the chain is none of classification's business
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if not isinstance(event.payload, HouseholdIdentified):
            return []
        on = event.occurred_at.date()
        try:
            standard = self.policy.in_force(event.payload.region_code, on)
            facts = facts_from_identified(str(event.household_id), event.payload)
            classification = classify(facts, standard, on)
        except (LookupError, ValueError) as error:
            raise Rejected(f"cannot classify household {event.household_id}: {error}") from None
        classified = new_event(
            classified_payload(classification, event.payload.region_code, on),
            household_id=event.household_id,
            producer=SERVICE,
            occurred_at=event.occurred_at,
            event_id=derived_event_id(event.event_id, "classified"),
            cause=event,
        )
        log.info(
            "household classified",
            household_id=event.household_id,
            tier=classification.tier.value,
            tags=[t.value for t in classification.tags],
            decided_by=classification.trace.decided_by,
            event_type="HouseholdClassified",
            correlation_id=str(event.correlation_id),
        )
        return [Outbound.event(self.topics.events, classified)]

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []
