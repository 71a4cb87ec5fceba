"""Checkpoints: signing, verification, parts, and comparing today's chains with a kept one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.audit import Checkpoint, CheckpointHead
from services.audit.domain.checkpoint import (
    CheckpointError,
    ObservedHead,
    assemble,
    compare_heads,
    key_id,
    make_checkpoint,
    split,
    verify_checkpoint,
)
from services.audit.domain.merkle import merkle_root

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()


def head(n: int, length: int = 3) -> CheckpointHead:
    return CheckpointHead(
        household_id=f"HH-{n:03d}",
        length=length,
        head_hash=hashlib.sha256(f"{n}/{length}".encode()).hexdigest(),
    )


def checkpoint(n: int = 5) -> Checkpoint:
    return make_checkpoint(
        [head(i, i + 1) for i in reversed(range(n))],
        key=KEY,
        created_at=NOW,
        chain_topic="assist.chain",
        positions={0: 10, 1: 7},
    )


def test_a_fresh_checkpoint_verifies_and_states_its_counts() -> None:
    cp = checkpoint()
    assert verify_checkpoint(cp, KEY.public_key()) == []
    assert cp.households == 5 and cp.events == 1 + 2 + 3 + 4 + 5
    assert [h.household_id for h in cp.heads] == sorted(h.household_id for h in cp.heads)
    assert cp.merkle_root == merkle_root((h.household_id, h.length, h.head_hash) for h in cp.heads)
    assert cp.positions == {"0": 10, "1": 7} and cp.key_id == key_id(KEY.public_key())


@pytest.mark.parametrize(
    "change",
    [
        {"events": 999},
        {"households": 4},
        {"created_at": datetime(2027, 1, 1, tzinfo=UTC)},
        {"positions": {"0": 11, "1": 7}},
        {"merkle_root": "0" * 64},
        {"chain_topic": "other"},
    ],
)
def test_a_changed_signed_field_breaks_the_signature(change: dict[str, object]) -> None:
    problems = verify_checkpoint(checkpoint().model_copy(update=change), KEY.public_key())
    assert "signature does not verify" in problems


def test_a_changed_head_breaks_the_merkle_root() -> None:
    cp = checkpoint()
    heads = [*cp.heads[:2], head(99, 3), *cp.heads[3:]]
    problems = verify_checkpoint(cp.model_copy(update={"heads": heads}), KEY.public_key())
    assert problems == ["heads do not give the signed Merkle root"]


def test_a_dropped_head_is_found() -> None:
    cp = checkpoint()
    problems = verify_checkpoint(cp.model_copy(update={"heads": cp.heads[:-1]}), KEY.public_key())
    assert "heads do not give the signed Merkle root" in problems
    assert any("4 heads, but 5 households" in p for p in problems)


def test_another_key_does_not_verify() -> None:
    other = Ed25519PrivateKey.generate().public_key()
    problems = verify_checkpoint(checkpoint(), other)
    assert "signature does not verify" in problems and any("signed by key" in p for p in problems)


def test_garbage_signature_is_reported_not_raised() -> None:
    cp = checkpoint().model_copy(update={"signature": "not base64!"})
    assert "signature does not verify" in verify_checkpoint(cp, KEY.public_key())


def test_parts_reassemble_to_the_whole_in_any_order() -> None:
    cp = checkpoint(7)
    parts = split(cp, 3)
    assert [(p.part, p.parts, len(p.heads)) for p in parts] == [(1, 3, 3), (2, 3, 3), (3, 3, 1)]
    assert assemble(list(reversed(parts))) == cp
    assert verify_checkpoint(parts[0], KEY.public_key())[0].startswith("checkpoint is part 1")


def test_an_empty_checkpoint_is_one_part() -> None:
    cp = make_checkpoint([], key=KEY, created_at=NOW, chain_topic="c", positions={})
    assert [p.parts for p in split(cp, 10)] == [1] and verify_checkpoint(cp, KEY.public_key()) == []


def test_missing_or_foreign_parts_are_refused() -> None:
    parts = split(checkpoint(7), 3)
    with pytest.raises(CheckpointError, match=r"parts \[2\] are missing"):
        assemble([parts[0], parts[2]])
    with pytest.raises(CheckpointError, match="another checkpoint"):
        assemble([parts[0], split(checkpoint(7), 3)[1]])


def test_today_extending_the_checkpoint_is_fine() -> None:
    kept = [head(1, 3)]
    assert compare_heads(kept, {"HH-001": ObservedHead(5, kept[0].head_hash)}) == []


def test_truncated_rewritten_and_missing_chains_are_named() -> None:
    kept = [head(1, 3), head(2, 3), head(3, 3), head(4, 3)]
    observed = {
        "HH-001": ObservedHead(3, kept[0].head_hash),  # unchanged
        "HH-002": ObservedHead(2, None),  # cut short
        "HH-003": ObservedHead(3, "f" * 64),  # rewritten with recomputed hashes
    }
    findings = compare_heads(kept, observed)
    assert [(f.household_id, f.problem) for f in findings] == [
        ("HH-002", "truncated"),
        ("HH-003", "rewritten"),
        ("HH-004", "missing"),
    ]
