"""What an auditor checks against a kept tree head, computing everything on their own side.

The audit service is asked only for material (a chain's stored events, the chain writer's
signatures that came with them, proofs); nothing it says is taken on trust: each signature is
checked here with the chain writer's public key, the hash links are verified here, each event's
leaf is computed here from the event itself, and every proof is checked against the roots the
kept tree head signed. Where the service's own verdict (`unsigned_records`) differs from what is
computed here, that is a finding too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.audit import AnyTreeHead
from events.chain import verify_chain
from services.audit.domain.tree_head import (
    Growth,
    Inclusion,
    consistency_problems,
    inclusion_problem,
    record_leaf,
    trees_problem,
)
from services.audit.household_check import document_hash
from services.runtime.signing_keys import key_id
from services.runtime.writer_signature import HEADER, signed_by_writer


class ProofSource(Protocol):
    """What the checks need of the audit service (services.audit.client.AuditClient)."""

    def chain(self, household_id: str) -> dict[str, Any]: ...

    def inclusion(self, household_id: str, tree_sizes: dict[int, int]) -> dict[str, Any]: ...

    def consistency(self, partition: int, old_size: int, new_size: int) -> dict[str, Any]: ...


@dataclass
class InclusionCheck:
    household_id: str
    length: int
    chain_valid: bool
    chain_reason: str | None
    in_tree_head: int = 0  # events proven in the tree head
    after_tree_head: int = 0  # events appended since (not covered by it)
    # The chain writer's key the signatures were checked with here; None: not checked, and
    # `unsigned_records` is the service's word
    writer_key_id: str | None = None
    unsigned_records: list[int] = field(default_factory=list)  # places without a valid signature
    service_unsigned_records: list[int] = field(default_factory=list)  # what the service said
    findings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.chain_valid and not self.findings


def check_inclusion(
    client: ProofSource,
    household_id: str,
    head: AnyTreeHead,
    writer_key: Ed25519PublicKey | None = None,
) -> InclusionCheck:
    """The household's chain, verified here, and each of its events proven in `head`; with the
    chain writer's public key, each record's signature checked here too."""
    chain = client.chain(household_id)
    documents: list[dict[str, Any]] = chain["events"]
    claimed = _places(chain.get("unsigned_records"))
    if writer_key is None:
        unsigned = claimed
        findings = [
            f"event {place}: not appended by the chain writer (no valid signature, says the "
            "service)"
            for place in claimed
        ]
    else:
        unsigned, findings = unsigned_here(documents, chain.get("writer_signatures"), writer_key)
        findings += _disagreement(claimed, unsigned)
    # Records the chain writer did not sign are left out of the links (as the service's
    # verification does) and named; their places are still proven in the log.
    excluded = set(unsigned)
    verification = verify_chain(
        d for place, d in enumerate(documents, start=1) if place not in excluded
    )
    check = InclusionCheck(
        household_id,
        len(documents),
        verification.valid,
        verification.reason or None,
        writer_key_id=key_id(writer_key) if writer_key is not None else None,
        unsigned_records=unsigned,
        service_unsigned_records=claimed,
        findings=findings,
    )
    unsigned_trees = trees_problem(head)
    if unsigned_trees is not None:
        check.findings.append(f"the tree head: {unsigned_trees}")
        return check
    sizes = {tree.partition: tree.size for tree in head.verified_trees()}
    proofs: list[dict[str, Any]] = client.inclusion(household_id, sizes)["events"]
    if len(proofs) != len(documents):
        check.findings.append(
            f"the service gave {len(proofs)} positions for a chain of {len(documents)} events"
        )
    for sequence, (document, where) in enumerate(zip(documents, proofs, strict=False), start=1):
        if where.get("proof") is None:
            check.after_tree_head += 1
            continue
        leaf = record_leaf(household_id, sequence, document_hash(document))
        inclusion = Inclusion(
            int(where["partition"]),
            int(where["leaf_index"]),
            [bytes.fromhex(h) for h in where["proof"]],
        )
        problem = inclusion_problem(head, leaf, inclusion, f"event {sequence}")
        if problem is None:
            check.in_tree_head += 1
        else:
            check.findings.append(problem)
    return check


def check_growth(client: ProofSource, old: AnyTreeHead, new: AnyTreeHead) -> list[str]:
    """Problems that say `new` does not extend `old`; none when the log only grew. Either head
    may be of either version: each one's partition trees are checked against what it signed."""
    if trees_problem(old) is not None or trees_problem(new) is not None:
        return consistency_problems(old, new, [])  # names them, without asking for proofs
    growths = []
    for before in old.verified_trees():
        after = new.tree(before.partition)
        if after is None or after.size < before.size:
            continue  # named by consistency_problems without asking for a proof
        answer = client.consistency(before.partition, before.size, after.size)
        growths.append(
            Growth(
                before.partition,
                int(answer["old_size"]),
                int(answer["new_size"]),
                [bytes.fromhex(h) for h in answer["proof"]],
            )
        )
    return consistency_problems(old, new, growths)


def unsigned_here(
    documents: Sequence[object], signatures: object, writer_key: Ed25519PublicKey
) -> tuple[list[int], list[str]]:
    """Places (1-based) of the records whose chain writer's signature (base64, one per record,
    as the service gave them) is missing or does not verify over the record's hash, checked
    here; and a finding for each."""
    given = signatures if isinstance(signatures, list) else []
    findings = []
    if len(given) != len(documents):
        findings.append(
            f"the service gave {len(given)} writer signatures for a chain of "
            f"{len(documents)} events"
        )
    places = []
    for place, document in enumerate(documents, start=1):
        encoded = given[place - 1] if place <= len(given) else None
        record_hash = document.get("hash") if isinstance(document, dict) else None
        if encoded is None:
            why = "no chain writer's signature"
        elif not signed_by_writer(writer_key, record_hash, [(HEADER, _decoded(encoded))]):
            why = "the chain writer's signature does not verify"
        else:
            continue
        places.append(place)
        findings.append(f"event {place}: not appended by the chain writer ({why})")
    return places, findings


def _disagreement(claimed: list[int], computed: list[int]) -> list[str]:
    """The service's own list of unsigned records against the one computed here."""
    findings = []
    hidden = [place for place in computed if place not in claimed]
    accused = [place for place in claimed if place not in computed]
    if hidden:
        findings.append(
            "the service's unsigned_records leave out event(s) "
            f"{', '.join(map(str, hidden))}, whose signature is missing or wrong (checked here)"
        )
    if accused:
        findings.append(
            "the service's unsigned_records name event(s) "
            f"{', '.join(map(str, accused))}, whose signature verifies here"
        )
    return findings


def _places(value: object) -> list[int]:
    if not isinstance(value, list):
        return []
    return sorted({p for p in value if isinstance(p, int) and not isinstance(p, bool)})


def _decoded(encoded: object) -> bytes:
    if not isinstance(encoded, str):
        return b""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return b""
