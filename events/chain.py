"""The hash-linked assistance chain: linking an event to its predecessor, and verifying a chain."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from events.canonical import canonical_json
from events.envelope import GENESIS_HASH, Envelope


def event_hash(document: dict[str, Any]) -> str:
    """SHA-256 over the canonical bytes of the event without its `hash` field."""
    unhashed = {k: v for k, v in document.items() if k != "hash"}
    return hashlib.sha256(canonical_json(unhashed)).hexdigest()


def link(event: Envelope, sequence: int, prev_hash: str) -> Envelope:
    """The event as appended at `sequence` after an event whose hash is `prev_hash`."""
    placed = event.model_copy(update={"sequence": sequence, "prev_hash": prev_hash, "hash": None})
    return placed.model_copy(update={"hash": event_hash(placed.to_document())})


def linked_bytes(event: Envelope, sequence: int, prev_hash: str) -> tuple[bytes, str]:
    """`link(event, sequence, prev_hash).to_bytes()` and its hash, from one dump of the event.

    The chain writer's hot path: the same bytes and hash as `link`, without the two model
    copies, the second dump and the second walk for floats.
    """
    document = event.to_document()
    document.pop("hash", None)
    document["sequence"], document["prev_hash"] = sequence, prev_hash
    digest = hashlib.sha256(canonical_json(document)).hexdigest()
    document["hash"] = digest
    return canonical_json(document, floats_refused=True), digest


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a household's chain stands: the next event links to `hash`."""

    sequence: int = 0
    hash: str = GENESIS_HASH


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer of the audit endpoint `/chain/verify`."""

    valid: bool
    length: int
    head_hash: str | None
    first_bad_sequence: int | None
    reason: str | None = None


def verify_chain(documents: Iterable[dict[str, Any]]) -> Verification:
    """Check order, links and hashes of one household's stored event documents.

    Works on the stored documents, not on upcast models: an old event is hashed as it was written.
    `first_bad_sequence` is the position (1-based) of the first event that does not fit.
    """
    head = ChainHead()
    household: str | None = None
    length = 0
    for position, document in enumerate(documents, start=1):
        length = position
        problem = _problem(document, position, head, household)
        if problem:
            return Verification(False, _count(position, documents), head.hash, position, problem)
        household = document.get("household_id")
        head = ChainHead(position, document["hash"])
    return Verification(True, length, head.hash if length else None, None)


def _count(position: int, documents: Iterable[dict[str, Any]]) -> int:
    # The length reported for a broken chain is everything stored, read or not yet read.
    return (
        position + sum(1 for _ in documents) if not isinstance(documents, list) else len(documents)
    )


def _problem(
    document: dict[str, Any], position: int, head: ChainHead, household: str | None
) -> str | None:
    if household is not None and document.get("household_id") != household:
        return f"event of household {document.get('household_id')!r} in the chain of {household!r}"
    if document.get("sequence") != position:
        return f"sequence {document.get('sequence')} where {position} was expected"
    if document.get("prev_hash") != head.hash:
        return "prev_hash does not match the previous event's hash"
    if document.get("hash") != event_hash(document):
        return "hash does not match the event's content"
    return None
