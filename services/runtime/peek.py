"""Cheap looks into a message's bytes, for metrics and logs, without decoding it as an event."""

from __future__ import annotations

import json
from collections.abc import Iterable

from events.types import EventType

# Every envelope written through the runtime carries its type in this record header, so that a
# consumer can pass over the events it does not follow without looking into their bytes. The
# body stays what counts: a handler decodes it, and the chain writer's signature covers it.
EVENT_TYPE_HEADER = "assist-event-type"


def event_type_header(event_type: str) -> tuple[str, bytes]:
    return EVENT_TYPE_HEADER, event_type.encode("ascii")


def event_type_of_record(value: bytes | None, headers: Iterable[tuple[str, bytes]]) -> str:
    """The event type of a record: from its header, else (a record written before the header
    existed) from its bytes; "unknown" for a type no event has, "" for none at all."""
    for name, found in headers:
        if name == EVENT_TYPE_HEADER:
            named = found.decode("ascii", "replace")
            return named if named in _EVENT_TYPES else "unknown"
    return event_type_of(value)


def event_type_of(value: bytes | None) -> str:
    # Metrics want the type without a full decode; the canonical form makes this a cheap find.
    if not value:
        return ""
    start = value.find(b'"event_type":"')
    if start < 0:
        return ""
    start += len(b'"event_type":"')
    end = value.find(b'"', start)
    name = value[start:end].decode("utf-8", "replace") if end > 0 else ""
    return name if name in _EVENT_TYPES else "unknown"


_EVENT_TYPES = frozenset(t.value for t in EventType)


def trace_fields(value: bytes | None) -> dict[str, str]:
    """household_id, correlation_id and event_type of a failed message, as far as it has them,
    so that one filter on a household finds its dead letters too (failures only: it parses)."""
    try:
        document = json.loads(value or b"")
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    fields = ("household_id", "correlation_id", "event_type")
    return {f: document[f] for f in fields if isinstance(document.get(f), str)}
