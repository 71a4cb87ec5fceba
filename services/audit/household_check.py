"""`assist verify HOUSEHOLD [--checkpoint FILE]`: one chain over HTTP, and its kept head."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from events.audit import Checkpoint
from services.audit.client import NotFound
from services.audit.domain.checkpoint import HeadFinding, ObservedHead, compare_heads
from services.audit.domain.records import stored_hash


class ChainSource(Protocol):
    """What the check needs of the audit service (services.audit.client.AuditClient)."""

    def verify(self, household_id: str) -> dict[str, Any]: ...

    def chain(self, household_id: str) -> dict[str, Any]: ...


@dataclass
class HouseholdCheck:
    verification: dict[str, Any]  # the service's /chain/verify answer
    in_checkpoint: bool
    findings: list[HeadFinding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.verification["valid"]) and not self.findings


def check_household(
    client: ChainSource, household_id: str, checkpoint: Checkpoint | None
) -> HouseholdCheck:
    """Verify one chain; with a checkpoint naming it, also compare it with its kept head.

    Raises NotFound when the household has no chain and the checkpoint does not name it.
    """
    heads = checkpoint.heads if checkpoint else []
    head = next((h for h in heads if h.household_id == household_id), None)
    try:
        verification = client.verify(household_id)
        events: list[dict[str, Any]] = client.chain(household_id)["events"] if head else []
    except NotFound:
        if head is None:
            raise
        # Gone altogether: nothing left to break, but the checkpoint remembers it.
        verification = {
            "household_id": household_id,
            "valid": True,
            "length": 0,
            "head_hash": None,
            "first_bad_sequence": None,
        }
        events = []
    if head is None:
        return HouseholdCheck(verification, in_checkpoint=False)
    at = events[head.length - 1] if len(events) >= head.length else None
    observed = ObservedHead(len(events), document_hash(at) if at is not None else None)
    return HouseholdCheck(verification, True, compare_heads([head], {household_id: observed}))


def document_hash(document: dict[str, Any]) -> str:
    """The head hash of a record as the service showed it (see domain/records.stored_hash)."""
    if "raw_base64" in document and "hash" not in document:
        # A record that is not JSON is shown as its bytes: hash those, as the index does.
        return stored_hash(base64.b64decode(document["raw_base64"]), None)
    # A record without a well-formed hash is pinned by the hash of its bytes; over HTTP they are
    # known only as a document, so its canonical form stands in for them.
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return stored_hash(canonical.encode(), document)
