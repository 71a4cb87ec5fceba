"""Bytes on a topic <-> validated events, with errors that name the offending field."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from events.envelope import Envelope
from events.registry import PAYLOAD_TYPES
from events.types import EventType
from events.upcasting import upcast


class DecodeError(ValueError):
    """A message that is not a valid event; the message says which field and why."""


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """'payload.members.0.person_id: <why>; ...' for every problem pydantic found."""
    parts = []
    for problem in error.errors():
        location = ".".join(str(p) for p in problem["loc"])
        parts.append(f"{prefix}{location}: {problem['msg']}")
    return "; ".join(parts)


def decode_document(document: Any) -> Envelope:
    """Validate a parsed JSON document as an event, upcasting an old schema version first."""
    if not isinstance(document, dict):
        raise DecodeError("event: expected a JSON object")
    if "event_type" not in document:
        raise DecodeError("event_type: missing")
    try:
        event_type = EventType(document["event_type"])
    except ValueError:
        raise DecodeError(f"event_type: unknown event type {document['event_type']!r}") from None
    for field in ("schema_version", "payload"):
        if field not in document:
            raise DecodeError(f"{field}: missing")
    if not isinstance(document["payload"], dict):
        raise DecodeError("payload: expected a JSON object")
    try:
        current = upcast(document)
    except (ValueError, TypeError) as error:
        raise DecodeError(f"schema_version: {error}") from None
    try:
        payload = PAYLOAD_TYPES[event_type].model_validate(current["payload"])
    except ValidationError as error:
        raise DecodeError(describe_validation_error(error, "payload.")) from None
    try:
        return Envelope.model_validate({**current, "payload": payload})
    except ValidationError as error:
        raise DecodeError(describe_validation_error(error)) from None


def decode_event(data: bytes | None) -> Envelope:
    """Parse and validate one message value."""
    if not data:
        raise DecodeError("value: empty message")
    try:
        document = json.loads(data.decode("utf-8"))  # UTF-8 only, never a guessed encoding
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DecodeError(f"value: not JSON ({error})") from None
    return decode_document(document)
