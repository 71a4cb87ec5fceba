"""A stored chain record as the audit sees it: the bytes on the log, parsed without trusting them.

The audit reads what is on `assist.chain` byte for byte; a record that is not a JSON object is
not dropped, it is kept so that verification can point at it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def parse_record(value: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """(document, None) for a JSON object; (None, why) for anything else."""
    if not value:
        return None, "empty record"
    try:
        document = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"not a JSON document ({error})"
    if not isinstance(document, dict):
        return None, "not a JSON object"
    return document, None


def stored_hash(value: bytes | None, document: dict[str, Any] | None) -> str:
    """The head hash a record stands for: its `hash` field, else the SHA-256 of its bytes.

    A record without a well-formed `hash` still has to be pinned by a checkpoint, so that
    replacing it later is noticed as well.
    """
    declared = document.get("hash") if document is not None else None
    if isinstance(declared, str) and _HEX64.match(declared):
        return declared
    return hashlib.sha256(value or b"").hexdigest()
