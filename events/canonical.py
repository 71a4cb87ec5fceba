"""Canonical JSON: the single byte form of an event, used for hashing, the log and contracts."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(document: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8; floats are refused (money is Decimal)."""
    _refuse_floats(document)
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    # A float prints differently across runtimes, so a hash over it would not be portable.
    if isinstance(value, float):
        raise TypeError(f"floats are not allowed in canonical JSON: {value!r}")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)
