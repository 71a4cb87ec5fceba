"""Idempotency-Key: a retried POST never creates a second application.

The key fixes the event id (and the household id, when the client gave none), so a retry
produces the very same event, which the chain writer recognises and drops, even after a
restart of intake. A small memory of recent keys also refuses a key reused for a different
request.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict

from events.envelope import derived_event_id


class KeyReused(Exception):  # noqa: N818 - a verdict on a request
    """The Idempotency-Key was already used for a request with a different body."""


class IdempotencyKeys:
    def __init__(self, remember: int = 100_000) -> None:
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._remember = remember

    def event_id(self, route: str, key: str | None, body: bytes) -> uuid.UUID:
        """The event id of this request: fixed by the key, random without one."""
        if key is None:
            return uuid.uuid4()
        scoped = f"{route}:{key}"
        fingerprint = hashlib.sha256(body).hexdigest()
        previous = self._seen.get(scoped)
        if previous is not None and previous != fingerprint:
            raise KeyReused(f"Idempotency-Key {key!r} was already used for a different request")
        self._seen[scoped] = fingerprint
        self._seen.move_to_end(scoped)
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return derived_event_id("idempotency", scoped)


def household_id_for(event_id: uuid.UUID) -> str:
    """A new household's id, derived from its first event so a retry gets the same one."""
    return f"HH-{event_id.hex[:16].upper()}"
