"""Signed checkpoints over every chain head, and checking today's chains against a kept one.

A hash chain shows an edit, a removal or a reordering, but not a cut tail or a full rewrite by
someone who can write the log and recompute every hash. A checkpoint an auditor keeps outside
the system closes that gap (as Certificate Transparency's signed tree heads do): a chain that
is now shorter than its head in the checkpoint, or whose event at the checkpoint's length no
longer has the head hash, was truncated or rewritten.

Pure: the Ed25519 key is passed in; files and Kafka are elsewhere.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.audit import Checkpoint, CheckpointHead
from events.canonical import canonical_json
from services.audit.domain.merkle import LeafCache, merkle_root
from services.runtime.signing_keys import key_id


class CheckpointError(ValueError):
    """Checkpoint parts that do not make one checkpoint."""


def make_checkpoint(
    heads: Iterable[CheckpointHead],
    *,
    key: Ed25519PrivateKey,
    created_at: datetime,
    chain_topic: str,
    positions: Mapping[int, int],
    checkpoint_id: uuid.UUID | None = None,
    leaf_cache: LeafCache | None = None,
) -> Checkpoint:
    """Sign the heads (sorted by household id) as of the log `positions`."""
    ordered = sorted(heads, key=lambda head: head.household_id)
    unsigned = Checkpoint(
        checkpoint_id=checkpoint_id or uuid.uuid4(),
        created_at=created_at,
        chain_topic=chain_topic,
        positions={str(p): offset for p, offset in sorted(positions.items())},
        households=len(ordered),
        events=sum(head.length for head in ordered),
        merkle_root=merkle_root(
            ((h.household_id, h.length, h.head_hash) for h in ordered), leaf_cache
        ),
        key_id=key_id(key.public_key()),
        signature="",
        heads=ordered,
    )
    return unsigned.model_copy(update={"signature": sign(key, unsigned.signed_document())})


def sign(key: Ed25519PrivateKey, document: dict[str, Any]) -> str:
    """Base64 of the Ed25519 signature over the document's canonical JSON."""
    return base64.b64encode(key.sign(canonical_json(document))).decode()


def signature_problems(
    signed_by: str, signature: str, document: dict[str, Any], public_key: Ed25519PublicKey
) -> list[str]:
    """What is wrong with a signature said to be `public_key`'s over `document`."""
    problems = []
    if signed_by != key_id(public_key):
        problems.append(f"signed by key {signed_by}, not by {key_id(public_key)}")
    try:
        public_key.verify(base64.b64decode(signature, validate=True), canonical_json(document))
    except (InvalidSignature, ValueError):
        problems.append("signature does not verify")
    return problems


def verify_checkpoint(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> list[str]:
    """Everything wrong with a complete checkpoint: signature, key, Merkle root, counts."""
    problems: list[str] = []
    if checkpoint.parts != 1:
        problems.append(f"checkpoint is part {checkpoint.part} of {checkpoint.parts}, not whole")
    problems += signature_problems(
        checkpoint.key_id, checkpoint.signature, checkpoint.signed_document(), public_key
    )
    heads = checkpoint.heads
    root = merkle_root((h.household_id, h.length, h.head_hash) for h in heads)
    if root != checkpoint.merkle_root:
        problems.append("heads do not give the signed Merkle root")
    if len(heads) != checkpoint.households:
        problems.append(f"{len(heads)} heads, but {checkpoint.households} households signed")
    if sum(h.length for h in heads) != checkpoint.events:
        problems.append(
            f"heads sum to {sum(h.length for h in heads)} events, but {checkpoint.events} signed"
        )
    return problems


def split(checkpoint: Checkpoint, heads_per_part: int) -> list[Checkpoint]:
    """The messages of one checkpoint, each with the signed fields and a slice of the heads."""
    if heads_per_part < 1:
        raise ValueError("heads_per_part: must be at least 1")
    heads = checkpoint.heads
    slices = [heads[i : i + heads_per_part] for i in range(0, len(heads), heads_per_part)] or [[]]
    return [
        checkpoint.model_copy(update={"part": n, "parts": len(slices), "heads": part})
        for n, part in enumerate(slices, start=1)
    ]


def assemble(parts: Sequence[Checkpoint]) -> Checkpoint:
    """One checkpoint from all of its parts (in any order)."""
    if not parts:
        raise CheckpointError("no parts")
    first = parts[0]
    signed = first.signed_document()
    by_number: dict[int, Checkpoint] = {}
    for part in parts:
        if part.signed_document() != signed or part.signature != first.signature:
            raise CheckpointError(f"part {part.part} belongs to another checkpoint")
        if part.parts != first.parts:
            raise CheckpointError("parts disagree on how many parts there are")
        by_number[part.part] = part
    missing = sorted(set(range(1, first.parts + 1)) - set(by_number))
    if missing:
        raise CheckpointError(f"checkpoint {first.checkpoint_id}: parts {missing} are missing")
    heads = [head for n in range(1, first.parts + 1) for head in by_number[n].heads]
    return first.model_copy(update={"part": 1, "parts": 1, "heads": heads})


@dataclass(frozen=True, slots=True)
class ObservedHead:
    """What a household's chain holds today, where a checkpoint can compare it."""

    length: int
    hash_at_checkpoint: str | None  # stored hash at the checkpoint's length; None if shorter


@dataclass(frozen=True, slots=True)
class HeadFinding:
    household_id: str
    problem: str  # missing | truncated | rewritten
    detail: str


def compare_heads(
    heads: Iterable[CheckpointHead], observed: Mapping[str, ObservedHead]
) -> list[HeadFinding]:
    """Households whose chain today is not the checkpoint's chain or an extension of it."""
    findings = []
    for head in heads:
        now = observed.get(head.household_id)
        if now is None or now.length == 0:
            findings.append(
                HeadFinding(
                    head.household_id, "missing", f"no events now; the checkpoint has {head.length}"
                )
            )
        elif now.length < head.length:
            findings.append(
                HeadFinding(
                    head.household_id,
                    "truncated",
                    f"{now.length} events now; the checkpoint has {head.length}",
                )
            )
        elif now.hash_at_checkpoint != head.head_hash:
            findings.append(
                HeadFinding(
                    head.household_id,
                    "rewritten",
                    f"event {head.length} now has hash {str(now.hash_at_checkpoint)[:16]}..., "
                    f"the checkpoint has {head.head_hash[:16]}...",
                )
            )
    return findings
