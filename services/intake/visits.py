"""Which household each requested home visit is for: a projection of VisitRequested events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from events.types import EventType
from services.runtime.messages import Inbound, Outbound

_VISITS = frozenset({EventType.VISIT_REQUESTED.value, EventType.VISIT_COMPLETED.value})


class VisitIndex:
    """visit_id -> household_id, folded from `assist.chain`; it produces nothing."""

    def __init__(self) -> None:
        self.households: dict[str, str] = {}
        self.completed: set[str] = set()

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.event_type not in _VISITS:
            return []  # by its record header: everything else is skipped without a parse
        document = json.loads(message.value or b"")
        payload = document.get("payload", {})
        if document.get("event_type") == EventType.VISIT_REQUESTED.value:
            self.households[payload["visit_id"]] = document["household_id"]
        elif document.get("event_type") == EventType.VISIT_COMPLETED.value:
            self.completed.add(payload["visit_id"])
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []
