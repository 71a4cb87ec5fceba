"""The envelope of every message on every topic (interfaces.md), and how events are made."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from events.canonical import canonical_json
from events.types import EventType, HouseholdId, Timestamp

# Derived event ids are uuid5 under this namespace, so that re-processing the same cause
# yields the same event_id and the chain writer can drop the repeat.
EVENT_NAMESPACE = uuid.UUID("6f1c2a52-8f0e-4c52-9d0e-3a7f5b2c9e41")
GENESIS_HASH = "0" * 64


class Payload(BaseModel):
    """Base of every event payload; subclasses name their event type and schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[EventType]
    schema_version: ClassVar[int] = 1


class Envelope(BaseModel):
    """One event. `sequence`, `prev_hash` and `hash` are set when the chain writer appends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: EventType
    schema_version: int = Field(ge=1)
    # None only for person-level monitoring messages before identification finds a household.
    household_id: HouseholdId | None
    sequence: int | None = Field(default=None, ge=1)
    occurred_at: Timestamp
    recorded_at: Timestamp
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    producer: str
    payload: SerializeAsAny[Payload]
    prev_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    def to_document(self) -> dict[str, Any]:
        """The JSON document of this event (money as strings, times in ISO 8601).

        Absent optional payload fields are left out rather than written as null, so a
        department's referral holds exactly the fields it may see.
        """
        document = self.model_dump(mode="json", exclude={"payload"})
        document["payload"] = self.payload.model_dump(mode="json", exclude_none=True)
        return document

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_document())

    @property
    def key(self) -> bytes | None:
        return self.household_id.encode() if self.household_id else None


def derived_event_id(*parts: object) -> uuid.UUID:
    """A deterministic event id from what caused the event (same cause, same id)."""
    return uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts))


def new_event(
    payload: Payload,
    *,
    household_id: str | None,
    producer: str,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
    cause: Envelope | None = None,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    recorded_at: datetime | None = None,
) -> Envelope:
    """Wrap a payload in an envelope; an event caused by another inherits its correlation."""
    event_id = event_id or uuid.uuid4()
    if correlation_id is None:
        correlation_id = cause.correlation_id if cause else event_id
    return Envelope(
        event_id=event_id,
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        household_id=household_id,
        occurred_at=occurred_at,
        recorded_at=recorded_at or datetime.now(UTC),
        correlation_id=correlation_id,
        causation_id=cause.event_id if cause else causation_id,
        producer=producer,
        payload=payload,
    )
