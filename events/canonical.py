"""Canonical JSON: the single byte form of an event, used for hashing, the log and contracts."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(document: Any, *, floats_refused: bool = False) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8; floats are refused (money is Decimal).

    `floats_refused`: the caller has already checked this document (save for values that are
    not floats), so the walk over it is not done twice.
    """
    if not floats_refused:
        _refuse_floats(document)
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(document: Any) -> None:
    # A float prints differently across runtimes, so a hash over it would not be portable.
    # A loop over a stack, strings first: every event is walked on every write, and most of
    # an event is strings (this is several times cheaper than the plain recursion).
    stack = [document]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if isinstance(value, float):
            raise TypeError(f"floats are not allowed in canonical JSON: {value!r}")
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
