"""Classification: tiers and tags under the policy in force, for every identified household.

Stateless as to households: each HouseholdIdentified carries every fact the rules read, so the
output depends on that event and the policy versions alone. The versions come from
`assist.policy`, read whole at every start (`bootstrap`) and then followed as an input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import derived_event_id, new_event
from events.household import HouseholdIdentified
from events.types import EventType
from services.rules.classify import classify
from services.rules.dates import next_date_that_matters
from services.rules.standards import PolicyBook
from services.rules.translation import classified_payload, facts_from_identified
from services.rules.versions import PolicyVersions
from services.runtime.clock import recorded_now
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.partition_tasks import TaskAssignment
from services.runtime.policy_topic import read_policy_topic

SERVICE = "classification"
log = get_logger()


class ClassificationHandler:
    def __init__(self, topics: TopicNames, policy: PolicyBook | None = None) -> None:
        self.topics = topics
        # The shipped standards (or the book given) plus every version approved on the topic.
        self.versions = PolicyVersions() if policy is None else PolicyVersions(book=policy)

    @property
    def policy(self) -> PolicyBook:
        """The book classified with: the standards and every approved version."""
        return self.versions.book

    async def bootstrap(
        self,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        assignment: TaskAssignment | None = None,
    ) -> None:
        """Fold `assist.policy` from its beginning to its end before anything is classified
        (whatever tasks this instance has: every instance reads the versions whole).

        Classification keeps no household state, so its inputs start at the committed offsets;
        the policy topic alone must be read whole, or a restart would forget approved versions.
        Folding is idempotent, so the policy events after the committed offset, read again as
        input, change nothing.
        """
        await read_policy_topic(
            consumer_factory,
            self.topics.policy,
            self.versions,
            lambda value: self._fold_policy(value, bootstrapping=True),
        )

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.policy:
            self._fold_policy(message.value)
            return []
        if message.event_type != EventType.HOUSEHOLD_IDENTIFIED.value:
            return []  # by its record header: the rest of the chain is none of its business
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if not isinstance(event.payload, HouseholdIdentified):
            return []
        payload, book = event.payload, self.versions.book
        try:
            # Evaluated at the date identification chose (never backwards); older events have
            # none, and are evaluated at the date of occurred_at in the region's zone.
            on = payload.evaluated_on or book.local_date(payload.region_code, event.occurred_at)
            standard = book.in_force(payload.region_code, on)
            facts = facts_from_identified(str(event.household_id), payload, on)
            classification = classify(facts, standard, on)
            next_date = next_date_that_matters(facts, classification.tier, on)
        except (LookupError, ValueError) as error:
            raise Rejected(f"cannot classify household {event.household_id}: {error}") from None
        classified = new_event(
            classified_payload(classification, payload.region_code, on, next_date),
            household_id=event.household_id,
            producer=SERVICE,
            occurred_at=event.occurred_at,
            event_id=derived_event_id(event.event_id, "classified"),
            cause=event,
            recorded_at=recorded_now(event),
        )
        log.info(
            "household classified",
            household_id=event.household_id,
            tier=classification.tier.value,
            tags=[t.value for t in classification.tags],
            decided_by=classification.trace.decided_by,
            next_rescreening=None if next_date is None else next_date.on.isoformat(),
            event_type="HouseholdClassified",
            correlation_id=str(event.correlation_id),
        )
        return [Outbound.event(self.topics.events, classified)]

    def _fold_policy(self, value: bytes | None, bootstrapping: bool = False) -> None:
        try:
            changed = self.versions.fold(decode_event(value))
        except (DecodeError, LookupError, ValueError) as error:
            # A bad message must not stop the start-up: as input it goes to the dead letters.
            if bootstrapping:
                log.warning("policy message skipped", error=f"{type(error).__name__}: {error}")
                return
            raise Rejected(f"policy message not taken: {error}") from None
        if changed:
            log.info(
                "policy versions changed",
                versions=[v.policy_version for v in self.versions.book.versions],
            )

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []
