"""The Merkle root over every chain head, as in Certificate Transparency (RFC 6962, 2.1).

Leaf data of one household: its id in UTF-8, a 0x00 byte (ids cannot contain one), its chain
length as 8 bytes big-endian, and its head hash as 32 raw bytes. Leaves are hashed with a 0x00
prefix and inner nodes with 0x01, so a leaf can never pass for a node. Households are sorted by
id, so the root depends only on the set of heads, never on the order they were seen in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, MutableMapping

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
# household_id -> (length, head_hash, leaf hash): leaves of unchanged chains are not rehashed.
LeafCache = MutableMapping[str, tuple[int, str, bytes]]


def leaf_data(household_id: str, length: int, head_hash: str) -> bytes:
    """The bytes a household's leaf commits to: id || 0x00 || length || head hash."""
    if "\x00" in household_id:
        raise ValueError("household_id: must not contain a NUL byte")
    return (
        household_id.encode("utf-8")
        + b"\x00"
        + length.to_bytes(8, "big")
        + bytes.fromhex(head_hash)
    )


def leaf_hash(household_id: str, length: int, head_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_data(household_id, length, head_hash)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(heads: Iterable[tuple[str, int, str]], cache: LeafCache | None = None) -> str:
    """Hex root over (household_id, length, head_hash) triples, sorted here by household id.

    Built bottom-up, carrying an unpaired last node up a level unchanged: that gives exactly
    RFC 6962's tree (split at the largest power of two below n) without recursion.
    """
    ordered = sorted(heads, key=lambda head: head[0])
    seen: set[str] = set()
    level: list[bytes] = []
    for household_id, length, head_hash in ordered:
        if household_id in seen:
            raise ValueError(f"household {household_id!r} has two heads")
        seen.add(household_id)
        level.append(_leaf(household_id, length, head_hash, cache))
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def _leaf(household_id: str, length: int, head_hash: str, cache: LeafCache | None) -> bytes:
    if cache is None:
        return leaf_hash(household_id, length, head_hash)
    known = cache.get(household_id)
    if known is not None and known[0] == length and known[1] == head_hash:
        return known[2]
    leaf = leaf_hash(household_id, length, head_hash)
    cache[household_id] = (length, head_hash, leaf)
    return leaf
