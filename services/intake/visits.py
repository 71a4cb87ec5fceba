"""Which household each requested home visit is for: a projection of VisitRequested events.

Kept on local disk by partition of the chain (services/runtime/kept_state.py): a start
restores it and reads only the chain's tail.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime

from pydantic import TypeAdapter

from contracts.topics import TopicNames
from events.types import EventType
from services.runtime.kept_state import PartitionMembers, schema_id
from services.runtime.messages import Inbound, Outbound

_VISITS = frozenset({EventType.VISIT_REQUESTED.value, EventType.VISIT_COMPLETED.value})


@dataclasses.dataclass(frozen=True)
class _KeptPartition:
    """The visits of one partition of the chain: for which household, and which are done."""

    households: dict[str, str]
    completed: list[str]


_PARTITION = TypeAdapter(_KeptPartition)
STATE_VERSION = 1  # bump when what a field means changes
STATE_SCHEMA = schema_id(_PARTITION, STATE_VERSION)


class VisitIndex:
    """visit_id -> household_id, folded from `assist.chain`; it produces nothing."""

    state_schema = STATE_SCHEMA  # the shape of what is kept on disk (kept_state.py)

    def __init__(self, topics: TopicNames | None = None) -> None:
        self.topics = topics or TopicNames()
        self.households: dict[str, str] = {}
        self.completed: set[str] = set()
        self._members = PartitionMembers()  # the visits of each chain partition

    @property
    def state_topic(self) -> str:
        return self.topics.chain

    def dump_partition(self, partition: int) -> bytes:
        mine = self._members.of(partition)
        kept = _KeptPartition(
            {v: h for v in mine if (h := self.households.get(v)) is not None},
            [v for v in mine if v in self.completed],
        )
        return _PARTITION.dump_json(kept)

    def load_partition(self, partition: int, data: bytes) -> None:
        kept = _PARTITION.validate_json(data)
        self.households.update(kept.households)
        self.completed.update(kept.completed)
        self._members.update(partition, kept.households, kept.completed)

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.event_type not in _VISITS:
            return []  # by its record header: everything else is skipped without a parse
        document = json.loads(message.value or b"")
        payload = document.get("payload", {})
        visit_id = payload["visit_id"]
        if document.get("event_type") == EventType.VISIT_REQUESTED.value:
            self.households[visit_id] = document["household_id"]
        elif document.get("event_type") == EventType.VISIT_COMPLETED.value:
            self.completed.add(visit_id)
        else:
            return []
        self._members.add(message.partition, visit_id)
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []
