"""Dead letters: the original bytes, where they came from and why they could not be processed."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from events.canonical import canonical_json
from services.runtime.messages import Inbound, Outbound

DEADLETTER_NAMESPACE = uuid.UUID("0b6f7a4c-4a43-4c4e-9d6e-5de1d7f6c0aa")


def dead_letter(
    message: Inbound, service: str, reason: str, topic: str, now: datetime | None = None
) -> Outbound:
    """The dead-letter record of `message`; its id is fixed by the source position, so a
    re-processed failure is recognisable as the same dead letter."""
    source = f"{message.topic}/{message.partition}/{message.offset}"
    document: dict[str, Any] = {
        "dead_letter_id": str(uuid.uuid5(DEADLETTER_NAMESPACE, f"{service}:{source}")),
        "service": service,
        "reason": reason,
        "failed_at": (now or datetime.now(UTC)).isoformat(),
        "source": {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key_base64": _b64(message.key),
        },
        "value_base64": _b64(message.value),
    }
    return Outbound(topic, source.encode(), canonical_json(document), "DeadLetter")


def read_dead_letter(value: bytes) -> dict[str, Any]:
    """Parse a dead-letter record and add `value_text` (the original bytes, when they are text)."""
    document: dict[str, Any] = json.loads(value)
    original = base64.b64decode(document.get("value_base64") or "")
    try:
        document["value_text"] = original.decode("utf-8")
    except UnicodeDecodeError:
        document["value_text"] = None
    return document


def original_value(document: dict[str, Any]) -> bytes:
    return base64.b64decode(document.get("value_base64") or "")


def original_key(document: dict[str, Any]) -> bytes | None:
    key = document.get("source", {}).get("key_base64")
    return base64.b64decode(key) if key is not None else None


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None
