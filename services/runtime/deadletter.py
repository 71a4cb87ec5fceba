"""Dead letters: the original bytes, where they came from and why they could not be processed.

A dead letter is bounded (services/runtime/limits.py): one that would be larger than
DEADLETTER_MAX_BYTES keeps the original's size, SHA-256 and first DEADLETTER_PREFIX_BYTES
instead of the whole, and says `truncated`; the original stays at its source offset, where
operators read it to re-drive it. So any message the broker accepts can be dead-lettered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from events.canonical import canonical_json
from services.runtime.limits import (
    DEADLETTER_MAX_BYTES,
    DEADLETTER_MAX_KEY_BYTES,
    DEADLETTER_MAX_REASON_CHARS,
    DEADLETTER_PREFIX_BYTES,
)
from services.runtime.messages import Inbound, Outbound

DEADLETTER_NAMESPACE = uuid.UUID("0b6f7a4c-4a43-4c4e-9d6e-5de1d7f6c0aa")


def dead_letter_id(service: str, topic: str, partition: int, offset: int) -> uuid.UUID:
    """Fixed by the source position: a re-processed failure is the same dead letter."""
    return uuid.uuid5(DEADLETTER_NAMESPACE, f"{service}:{topic}/{partition}/{offset}")


def dead_letter(
    message: Inbound,
    service: str,
    reason: str,
    topic: str,
    now: datetime | None = None,
    max_bytes: int = DEADLETTER_MAX_BYTES,
) -> Outbound:
    """The dead-letter record of `message`, at most `max_bytes` long whatever its size."""
    source = f"{message.topic}/{message.partition}/{message.offset}"
    document: dict[str, Any] = {
        "dead_letter_id": str(
            dead_letter_id(service, message.topic, message.partition, message.offset)
        ),
        "service": service,
        "reason": _bounded_reason(reason),
        "failed_at": (now or datetime.now(UTC)).isoformat(),
        "source": {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key_base64": _b64(message.key),
        },
        "value_base64": _b64(message.value),
        "truncated": False,
    }
    if message.value is not None:
        document["value_bytes"] = len(message.value)
        document["value_sha256"] = hashlib.sha256(message.value).hexdigest()
    value = canonical_json(document)
    if len(value) > max_bytes:
        document["truncated"] = True
        document["value_base64"] = None
        document["value_prefix_base64"] = _b64((message.value or b"")[:DEADLETTER_PREFIX_BYTES])
        if message.key is not None and len(message.key) > DEADLETTER_MAX_KEY_BYTES:
            document["source"].update(
                key_base64=None,
                key_bytes=len(message.key),
                key_sha256=hashlib.sha256(message.key).hexdigest(),
                key_prefix_base64=_b64(message.key[:DEADLETTER_PREFIX_BYTES]),
            )
        value = canonical_json(document)
    return Outbound(topic, source.encode(), value, "DeadLetter")


def read_dead_letter(value: bytes) -> dict[str, Any]:
    """Parse a dead-letter record and add `value_text` (the original bytes, when they are text;
    the first bytes of a truncated one)."""
    document: dict[str, Any] = json.loads(value)
    quoted = original_value(document)
    if quoted is None:
        quoted = base64.b64decode(document.get("value_prefix_base64") or "")
    try:
        document["value_text"] = quoted.decode("utf-8")
    except UnicodeDecodeError:
        document["value_text"] = None
    return document


def original_value(document: dict[str, Any]) -> bytes | None:
    """The original bytes, or None when the dead letter is truncated (they are at the source)."""
    if document.get("truncated"):
        return None
    return base64.b64decode(document.get("value_base64") or "")


def original_key(document: dict[str, Any]) -> bytes | None:
    key = document.get("source", {}).get("key_base64")
    return base64.b64decode(key) if key is not None else None


def _bounded_reason(reason: str) -> str:
    if len(reason) <= DEADLETTER_MAX_REASON_CHARS:
        return reason
    cut = len(reason) - DEADLETTER_MAX_REASON_CHARS
    return f"{reason[:DEADLETTER_MAX_REASON_CHARS]}… ({cut} more characters)"


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None
