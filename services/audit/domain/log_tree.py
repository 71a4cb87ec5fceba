"""RFC 6962 / RFC 9162 Merkle tree over the append-only audit log, with its proofs.

Hashing is RFC 6962 section 2.1: SHA-256, a leaf is SHA256(0x00 || data), an inner node is
SHA256(0x01 || left || right) and the empty tree is SHA256(""). The prefixes keep a leaf from
ever passing for a node.

Storage: level k holds, as one bytearray of 32-byte hashes, every complete subtree of 2^k
leaves that starts at a multiple of 2^k. With n leaves that is n + n/2 + n/4 + ... < 2n
hashes, about 64 bytes per leaf (64 MiB for a million), plus the bytearrays' spare growth
room; there is no Python object per hash. Such a subtree never changes once complete, so an
append is amortised O(1) hashes (O(log n) at worst) and any root of the first m leaves is
the binary decomposition of m into stored subtrees, folded right to left. A root, inclusion
proof or consistency proof therefore costs O(log n) hash operations: only the one ragged
right edge is ever recomputed.

The verify functions are what an auditor who does not trust the server runs. They are the
iterative algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2 and never raise: a malformed
proof, size, index or hash is simply not verified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from services.audit.domain.merkle import node_hash

HASH_SIZE = 32
EMPTY_ROOT_HASH = hashlib.sha256(b"").digest()


def log_leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash of one log entry's bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2): where RFC 6962 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


class LogTree:
    """An append-only Merkle tree that keeps every complete subtree, so history stays provable.

    Roots of any earlier size are needed for signed tree heads, and proofs between any two
    sizes for auditors; both come from the stored subtrees without replaying the log.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for leaf_hash in leaf_hashes:
            self.append(leaf_hash)

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> int:
        """Add a leaf hash (see log_leaf_hash) and return its index."""
        if not isinstance(leaf_hash, bytes | bytearray) or len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf_hash: must be {HASH_SIZE} bytes")
        index = self._size
        self._levels[0] += leaf_hash
        self._size += 1
        level, position = 0, index
        while position & 1:
            if level + 1 == len(self._levels):
                self._levels.append(bytearray())
            parent = node_hash(self._node(level, position - 1), self._node(level, position))
            self._levels[level + 1] += parent
            level, position = level + 1, position >> 1
        return index

    def leaf(self, index: int) -> bytes:
        self._check_index(index, self._size)
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first size leaves (all of them when size is None)."""
        if size is None:
            size = self._size
        self._check_size("size", size)
        if size == 0:
            return EMPTY_ROOT_HASH
        return self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 6962 section 2.1.1, leaf-side sibling first."""
        self._check_size("size", size)
        self._check_index(index, size)
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._range_hash(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[new_size]) of RFC 6962 section 2.1.2.

        Empty when the sizes are equal or old_size is 0: RFC 9162 has nothing to prove then.
        """
        self._check_size("new_size", new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old_size: {old_size} is not in 0..new_size ({new_size})")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        lo, hi, m = 0, new_size, old_size
        whole_old_tree = True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo += k
                m -= k
                whole_old_tree = False
        if not whole_old_tree:
            proof.append(self._range_hash(lo, hi))
        proof.reverse()
        return proof

    def _node(self, level: int, position: int) -> bytes:
        start = position * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for lo a multiple of the smallest power of two >= hi - lo.

        Every subtree the RFC recursion visits is so aligned, which makes its pieces the
        stored complete subtrees of the binary decomposition of hi - lo.
        """
        pieces: list[bytes] = []
        remaining, position = hi - lo, lo
        for level in reversed(range(remaining.bit_length())):
            if remaining >> level & 1:
                pieces.append(self._node(level, position >> level))
                position += 1 << level
        result = pieces.pop()
        while pieces:
            result = node_hash(pieces.pop(), result)
        return result

    def _check_size(self, name: str, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"{name}: {size} is not in 0..{self._size} (the tree's size)")

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise ValueError(f"index: {index} is not in 0..{size - 1} (size is {size})")


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _all_hashes(proof: object) -> bool:
    if not isinstance(proof, Sequence) or isinstance(proof, str | bytes | bytearray):
        return False
    return all(_is_hash(p) for p in proof)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether proof shows leaf_hash at index in the tree of size leaves with this root.

    RFC 9162 section 2.1.3.2, step for step.
    """
    if not (_is_count(index) and _is_count(size) and index < size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _all_hashes(proof)):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether proof shows the tree of new_size leaves extends the one of old_size leaves.

    RFC 9162 section 2.1.4.2, step for step. Equal sizes need equal roots and an empty proof.
    From the empty tree the proof is empty too, and old_root must be the empty tree's hash.
    """
    if not (_is_count(old_size) and _is_count(new_size) and old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and _all_hashes(proof)):
        return False
    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT_HASH
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if len(proof) == 0:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
