"""Signed tree heads over the chain log, and what an auditor checks with them on their own side.

Kafka orders records within a partition, not across partitions, so the log is one append-only
Merkle tree (RFC 6962) per partition of `assist.chain`: leaf i is the i-th committed record of
the partition, whatever it says. A tree head (version 2) signs the root of one more Merkle tree
over each partition's (size, root), the forest root (events/forest.py): a few hundred bytes
however many households, records or partitions there are. The partition trees come with it,
unsigned, and are only ever read through `verified_trees`. With one kept, an auditor checks

* that an event is in the log at its place (an inclusion proof: log2(size) hashes), and
* that a later head extends it (a consistency proof per partition): nothing recorded was cut,
  rewritten or reordered since.

A record's leaf commits to the household it is filed under, its place in that household's
chain, and its hash (merkle.leaf_data); a record filed under no household, to the SHA-256 of its
bytes. Pure: keys are passed in, proofs come from whoever serves them and are checked here.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.audit import AnyTreeHead, PartitionTree, TreeHead, TreeHeadWitnessed, TreesNotSigned
from events.forest import forest_root
from services.audit.domain.checkpoint import sign, signature_problems
from services.audit.domain.log_tree import LogTree, verify_consistency, verify_inclusion
from services.audit.domain.merkle import leaf_hash
from services.runtime.signing_keys import key_id


def record_leaf(household_id: str | None, position: int, record_hash: str) -> bytes:
    """The leaf hash of one chain record: filed under `household_id` as its `position`-th event
    (1-based) with hash `record_hash`; a record filed nowhere has ("", 0, SHA-256 of its bytes)."""
    if household_id is None:
        return leaf_hash("", 0, record_hash)
    return leaf_hash(household_id, position, record_hash)


def unfiled_record_hash(value: bytes | None) -> str:
    return hashlib.sha256(value or b"").hexdigest()


def make_tree_head(
    sizes: Mapping[int, tuple[int, bytes]],
    *,
    key: Ed25519PrivateKey,
    created_at: datetime,
    chain_topic: str,
    tree_head_id: uuid.UUID | None = None,
) -> TreeHead:
    """Sign partition -> (size, root) through their forest root (schema version 2)."""
    trees = sorted(sizes.items())
    unsigned = TreeHead(
        tree_head_id=tree_head_id or uuid.uuid4(),
        created_at=created_at,
        chain_topic=chain_topic,
        partitions=len(trees),
        total_size=sum(size for _, (size, _) in trees),
        forest_root=forest_root([(p, size, root) for p, (size, root) in trees]).hex(),
        key_id=key_id(key.public_key()),
        signature="",
        trees=[PartitionTree(partition=p, size=size, root=root.hex()) for p, (size, root) in trees],
    )
    return unsigned.model_copy(update={"signature": sign(key, unsigned.signed_document())})


def verify_tree_head(head: AnyTreeHead, public_key: Ed25519PublicKey) -> list[str]:
    """Everything wrong with a tree head: its key, its signature, its partitions (of version 2:
    the partition trees that came with it against the signed forest root)."""
    problems = signature_problems(head.key_id, head.signature, head.signed_document(), public_key)
    tree_problem = trees_problem(head)
    if tree_problem is not None:
        problems.append(tree_problem)
    return problems


def trees_problem(head: AnyTreeHead) -> str | None:
    """None when the head's partition trees are those it signed; else what is wrong."""
    try:
        head.verified_trees()
    except TreesNotSigned as error:
        return str(error)
    return None


@dataclass(frozen=True, slots=True)
class Inclusion:
    """Where the server says one event is in the log, and the proof of it."""

    partition: int
    leaf_index: int
    proof: list[bytes]


def inclusion_problem(
    head: AnyTreeHead, leaf: bytes, where: Inclusion, what: str = "the event"
) -> str | None:
    """None when `leaf` is at `where` in the tree `head` signed; else what is wrong."""
    unsigned = trees_problem(head)
    if unsigned is not None:
        return f"{what}: {unsigned}"
    tree = head.tree(where.partition)
    if tree is None:
        return f"{what}: partition {where.partition} is not in the tree head"
    if where.leaf_index >= tree.size:
        return f"{what}: not in the tree head, which ends at leaf {tree.size - 1}"
    if not verify_inclusion(
        leaf, where.leaf_index, tree.size, where.proof, bytes.fromhex(tree.root)
    ):
        return (
            f"{what}: not in the log as the tree head signed it "
            f"(partition {where.partition}, leaf {where.leaf_index} of {tree.size})"
        )
    return None


@dataclass(frozen=True, slots=True)
class Growth:
    """How one partition's tree went from the older head to the newer, with the proof."""

    partition: int
    old_size: int
    new_size: int
    proof: list[bytes]


def consistency_problems(old: AnyTreeHead, new: AnyTreeHead, growths: list[Growth]) -> list[str]:
    """What says the newer head does not extend the older: a partition gone or shrunk (a cut
    tail), or a proof that fails (something before the older size was rewritten or reordered).
    Each head's partition trees are first checked against what it signed."""
    problems = [
        f"the {which} tree head: {problem}"
        for which, head in (("older", old), ("newer", new))
        if (problem := trees_problem(head)) is not None
    ]
    if problems:
        return problems
    proofs = {g.partition: g for g in growths}
    for before in old.verified_trees():
        after = new.tree(before.partition)
        size_now = after.size if after is not None else 0
        if after is None or size_now < before.size:
            if before.size:
                problems.append(
                    f"partition {before.partition}: the log was cut: {size_now} records, "
                    f"the older tree head has {before.size}"
                )
            continue
        growth = proofs.get(before.partition)
        if growth is None or (growth.old_size, growth.new_size) != (before.size, after.size):
            problems.append(f"partition {before.partition}: no consistency proof given")
            continue
        if not verify_consistency(
            before.size,
            after.size,
            bytes.fromhex(before.root),
            bytes.fromhex(after.root),
            growth.proof,
        ):
            problems.append(
                f"partition {before.partition}: the first {before.size} records are not those "
                "the older tree head signed (rewritten or reordered)"
            )
    return problems


def log_problems(head: AnyTreeHead, trees: Mapping[int, LogTree]) -> list[str]:
    """What says the log as read now (every partition's tree, built by the reader itself) is
    not the log `head` signed, or an extension of it: a partition cut short, or one whose
    first records are no longer those signed."""
    unsigned = trees_problem(head)
    if unsigned is not None:
        return [f"the tree head: {unsigned}"]
    problems = []
    for signed in head.verified_trees():
        tree = trees.get(signed.partition)
        size_now = tree.size if tree is not None else 0
        if size_now < signed.size:
            problems.append(
                f"partition {signed.partition}: the log was cut: {size_now} records, "
                f"the tree head has {signed.size}"
            )
        elif tree is not None and tree.root(signed.size).hex() != signed.root:
            problems.append(
                f"partition {signed.partition}: the first {signed.size} records are not those "
                "the tree head signed (rewritten or reordered)"
            )
    return problems


def cosign(key: Ed25519PrivateKey, head: AnyTreeHead) -> str:
    """A witness's co-signature: over the same bytes the audit signed, with the witness's key."""
    return sign(key, head.signed_document())


def cosignature_problems(
    head: AnyTreeHead, witnessed: TreeHeadWitnessed, witness_key: Ed25519PublicKey
) -> list[str]:
    """What is wrong with a witness's co-signature of `head`."""
    if witnessed.tree_head_id != head.tree_head_id:
        return [f"co-signs tree head {witnessed.tree_head_id}, not {head.tree_head_id}"]
    return signature_problems(
        witnessed.witness_key_id, witnessed.signature, head.signed_document(), witness_key
    )
