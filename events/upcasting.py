"""Old schema versions are upcast to the current one on read, before validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.registry import current_version
from events.types import EventType

Document = dict[str, Any]
Upcaster = Callable[[Document], Document]


def upcast_application_v1_to_v2(payload: Document) -> Document:
    """v1 kept rigid expenses as two flat fields; v2 nests them as in the application body."""
    upcast = {k: v for k, v in payload.items() if not k.endswith("_expenses_12m")}
    upcast["rigid_expenses_12m"] = {
        "medical": payload.get("medical_expenses_12m", "0"),
        "education": payload.get("education_expenses_12m", "0"),
    }
    return upcast


UPCASTERS: dict[tuple[EventType, int], Upcaster] = {
    (EventType.APPLICATION_RECEIVED, 1): upcast_application_v1_to_v2,
}


def upcast(document: Document) -> Document:
    """Return the event document at its type's current schema version (input untouched)."""
    event_type = EventType(document["event_type"])
    version = int(document["schema_version"])
    target = current_version(event_type)
    if version > target:
        raise ValueError(
            f"schema_version {version} of {event_type} is newer than this reader ({target})"
        )
    payload = document["payload"]
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise ValueError(f"no upcaster for {event_type} v{version}")
        payload = step(payload)
        version += 1
    return {**document, "schema_version": version, "payload": payload}
