"""The forest root: one RFC 6962 Merkle tree over the per-partition trees of a tree head.

A tree head signs this root instead of every partition's (size, root), so what is signed stays
the same size however many partitions `assist.chain` has. The partition trees travel beside it,
unsigned; whoever reads them recomputes this root and compares it with the signed one.

Hashing is that of the log's trees (services/audit/domain/log_tree.py): a leaf is
SHA256(0x00 || data), a node SHA256(0x01 || left || right), the empty tree SHA256("").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

# Kafka partitions are int32 and offsets int64: the leaf's fixed-width fields hold any of them.
MAX_PARTITION = 2**31 - 1
MAX_SIZE = 2**63 - 1
_LEAF_PREFIX = b"assist-partition-tree/1\x00"


def partition_leaf(partition: int, size: int, root: bytes) -> bytes:
    """The forest's leaf hash of one partition's tree: its number, size and root, fixed-width."""
    if not (0 <= partition <= MAX_PARTITION and 0 <= size <= MAX_SIZE and len(root) == 32):
        raise ValueError(f"partition {partition}: not a partition tree (size {size})")
    data = _LEAF_PREFIX + partition.to_bytes(4, "big") + size.to_bytes(8, "big") + root
    return hashlib.sha256(b"\x00" + data).digest()


def forest_root(trees: Sequence[tuple[int, int, bytes]]) -> bytes:
    """MTH over the leaves of (partition, size, root), in the order given (partition order)."""
    return _mth([partition_leaf(p, size, root) for p, size, root in trees])


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)  # the largest power of two below n
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()
