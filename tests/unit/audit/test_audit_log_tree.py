"""LogTree and its verifiers against RFC 6962 as written, and the CT test vectors."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.domain import log_tree
from services.audit.domain.log_tree import (
    EMPTY_ROOT_HASH,
    LogTree,
    log_leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from services.audit.domain.merkle import node_hash

# The reference below is RFC 6962 section 2.1 as stated: recursive, split at the largest
# power of two smaller than n, hashing with hashlib directly rather than the module's helpers.


def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = ref_k(len(d))
    return ref_node(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of section 2.1.1."""
    if len(d) == 1:
        return []
    k = ref_k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of section 2.1.2, for 0 < m <= n."""
    return ref_subproof(m, d, True)


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = ref_k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def leaves(n: int) -> list[bytes]:
    return [ref_leaf(f"entry-{i}".encode()) for i in range(n)]


BIG = 1000
BIG_LEAVES = leaves(BIG)
BIG_TREE = LogTree(BIG_LEAVES)

SIZES = list(range(1, 65)) + [100, 257, 1000]


def sampled(n: int) -> list[int]:
    """Every position for small n; for larger n a spread plus both ends."""
    if n <= 64:
        return list(range(n))
    return sorted({*range(0, n, max(1, n // 37)), 1, 2, n // 2, n - 2, n - 1})


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- hashing -------------------------------------------------------------------------------


def test_leaf_and_empty_hashes_are_rfc_6962() -> None:
    assert log_leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert EMPTY_ROOT_HASH == hashlib.sha256(b"").digest()
    assert LogTree().root() == EMPTY_ROOT_HASH
    assert LogTree().size == 0


# --- agreement with the reference ----------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
def test_root_and_inclusion_proofs_equal_the_reference(n: int) -> None:
    d = leaves(n)
    tree = LogTree()
    assert [tree.append(h) for h in d] == list(range(n))
    assert tree.size == n
    root = ref_mth(d)
    assert tree.root() == tree.root(n) == BIG_TREE.root(n) == root
    for index in sampled(n):
        path = ref_path(index, d)
        assert tree.inclusion_proof(index, n) == path
        assert BIG_TREE.inclusion_proof(index, n) == path
        assert verify_inclusion(d[index], index, n, path, root)


@pytest.mark.parametrize("n", SIZES)
def test_consistency_proofs_equal_the_reference(n: int) -> None:
    d = leaves(n)
    tree = LogTree(d)
    new_root = ref_mth(d)
    for m in sampled(n + 1)[1:] if n > 64 else range(1, n + 1):
        proof = ref_proof(m, d)
        assert tree.consistency_proof(m, n) == proof
        assert BIG_TREE.consistency_proof(m, n) == proof
        assert verify_consistency(m, n, ref_mth(d[:m]), new_root, proof)


def test_every_historic_root_of_a_grown_tree() -> None:
    for size in range(BIG + 1):
        assert BIG_TREE.root(size) == ref_mth(BIG_LEAVES[:size])


def test_leaves_are_kept() -> None:
    assert [BIG_TREE.leaf(i) for i in range(BIG)] == BIG_LEAVES


# --- RFC 6962 test data as used by Certificate Transparency implementations ----------------
# The eight leaf inputs, the roots of the trees of their first 1..8 leaves, and the known
# proofs are the vectors of Google's certificate-transparency / trillian Merkle tests, kept
# today in transparency-dev/merkle (testonly/constants.go, proof/verify_test.go).

CT_LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
CT_EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def _hashes(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


# (index, size, proof); the CT sources number leaves from 1, these from 0.
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _hashes(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _hashes("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _hashes(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (old_size, new_size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _hashes(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

CT_TREE = LogTree(log_leaf_hash(data) for data in CT_LEAF_INPUTS)


def test_ct_vectors_roots() -> None:
    assert CT_TREE.root(0) == CT_EMPTY_ROOT
    assert [CT_TREE.root(size) for size in range(1, 9)] == CT_ROOTS


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_vectors_inclusion(index: int, size: int, proof: list[bytes]) -> None:
    assert CT_TREE.inclusion_proof(index, size) == proof
    leaf = log_leaf_hash(CT_LEAF_INPUTS[index])
    assert verify_inclusion(leaf, index, size, proof, CT_ROOTS[size - 1])


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CT_CONSISTENCY)
def test_ct_vectors_consistency(old_size: int, new_size: int, proof: list[bytes]) -> None:
    assert CT_TREE.consistency_proof(old_size, new_size) == proof
    old_root, new_root = CT_ROOTS[old_size - 1], CT_ROOTS[new_size - 1]
    assert verify_consistency(old_size, new_size, old_root, new_root, proof)


# --- tampering -----------------------------------------------------------------------------

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def inclusion_forgeries(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> Iterator[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """Everything an untrusted server might send instead of the true proof.

    Wrong sizes are doubled and halved: neighbouring sizes can share a proof's shape, and
    only the signed root tells them apart.
    """
    yield "changed leaf", ref_leaf(b"not the entry"), index, size, proof, root
    yield "wrong root", leaf, index, size, proof, SOME_HASH
    yield "empty-tree root", leaf, index, size, proof, EMPTY_ROOT_HASH
    for other in {index - 1, index + 1, index ^ 2, size, -1}:
        if other != index:
            yield f"index {other}", leaf, other, size, proof, root
    yield "size * 2", leaf, index, size * 2, proof, root
    yield "size // 2", leaf, index, size // 2, proof, root
    yield "size 0", leaf, index, 0, proof, root
    yield "trailing root", leaf, index, size, [*proof, root], root
    yield "leading root", leaf, index, size, [root, *proof], root
    yield "trailing junk", leaf, index, size, [*proof, b""], root
    if proof:
        yield "truncated", leaf, index, size, proof[:-1], root
        yield "first dropped", leaf, index, size, proof[1:], root
        yield "short hash", leaf, index, size, [proof[0][:31], *proof[1:]], root
        yield "inserted", leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root
    for i in range(len(proof)):
        changed = [*proof]
        changed[i] = flip(changed[i], 3)
        yield f"proof[{i}] flipped", leaf, index, size, changed, root


@pytest.mark.parametrize("n", list(range(1, 41)) + [257])
def test_forged_inclusion_proofs_fail(n: int) -> None:
    tree = LogTree(BIG_LEAVES[:n])
    root = tree.root()
    for index in sampled(n):
        proof = tree.inclusion_proof(index, n)
        assert verify_inclusion(BIG_LEAVES[index], index, n, proof, root)
        for name, *args in inclusion_forgeries(BIG_LEAVES[index], index, n, proof, root):
            assert not verify_inclusion(*args), (index, n, name)  # type: ignore[arg-type]


def test_ct_vectors_forged_inclusion_fails() -> None:
    for index, size, proof in CT_INCLUSION:
        leaf = log_leaf_hash(CT_LEAF_INPUTS[index])
        forged = inclusion_forgeries(leaf, index, size, proof, CT_ROOTS[size - 1])
        for name, *args in forged:
            assert not verify_inclusion(*args), (index, size, name)  # type: ignore[arg-type]


def consistency_forgeries(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> Iterator[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    yield "old_size - 1", old_size - 1, new_size, old_root, new_root, proof
    yield "old_size + 1", old_size + 1, new_size, old_root, new_root, proof
    yield "old_size ^ 2", old_size ^ 2, new_size, old_root, new_root, proof
    yield "new_size * 2", old_size, new_size * 2, old_root, new_root, proof
    yield "new_size // 2", old_size, new_size // 2, old_root, new_root, proof
    yield "sizes swapped", new_size, old_size, new_root, old_root, proof
    yield "roots swapped", old_size, new_size, new_root, old_root, proof
    yield "wrong old root", old_size, new_size, SOME_HASH, new_root, proof
    yield "wrong new root", old_size, new_size, old_root, SOME_HASH, proof
    yield "empty proof", old_size, new_size, old_root, new_root, []
    yield "truncated", old_size, new_size, old_root, new_root, proof[:-1]
    yield "first dropped", old_size, new_size, old_root, new_root, proof[1:]
    for extra in (old_root, new_root, proof[0], b""):
        yield "trailing extra", old_size, new_size, old_root, new_root, [*proof, extra]
        yield "leading extra", old_size, new_size, old_root, new_root, [extra, *proof]
    for i in range(len(proof)):
        changed = [*proof]
        changed[i] = flip(changed[i], 4)
        yield f"proof[{i}] flipped", old_size, new_size, old_root, new_root, changed


@pytest.mark.parametrize("n", list(range(2, 41)) + [100])
def test_forged_consistency_proofs_fail(n: int) -> None:
    tree = LogTree(BIG_LEAVES[:n])
    for m in sampled(n)[1:]:
        old_root, new_root = tree.root(m), tree.root(n)
        proof = tree.consistency_proof(m, n)
        assert verify_consistency(m, n, old_root, new_root, proof)
        for name, *args in consistency_forgeries(m, n, old_root, new_root, proof):
            assert not verify_consistency(*args), (m, n, name)  # type: ignore[arg-type]


def test_ct_vectors_forged_consistency_fails() -> None:
    for old_size, new_size, proof in CT_CONSISTENCY:
        if old_size == new_size:
            continue
        old_root, new_root = CT_ROOTS[old_size - 1], CT_ROOTS[new_size - 1]
        for name, *args in consistency_forgeries(old_size, new_size, old_root, new_root, proof):
            assert not verify_consistency(*args), (old_size, new_size, name)  # type: ignore[arg-type]


# --- edge cases of the verifiers -----------------------------------------------------------


def test_single_leaf_tree() -> None:
    leaf = log_leaf_hash(b"data")
    tree = LogTree([leaf])
    assert tree.root() == leaf
    assert tree.inclusion_proof(0, 1) == []
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [leaf], leaf)
    assert not verify_inclusion(leaf, 1, 1, [], leaf)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 1), (1, 1)])
def test_inclusion_outside_the_tree_fails(index: int, size: int) -> None:
    for root in (SOME_HASH, EMPTY_ROOT_HASH):
        assert not verify_inclusion(SOME_HASH, index, size, [], root)


def test_consistency_between_equal_sizes() -> None:
    assert verify_consistency(0, 0, EMPTY_ROOT_HASH, EMPTY_ROOT_HASH, [])
    assert verify_consistency(1, 1, SOME_HASH, SOME_HASH, [])
    assert verify_consistency(8, 8, CT_ROOTS[7], CT_ROOTS[7], [])
    assert not verify_consistency(8, 8, CT_ROOTS[7], CT_ROOTS[6], [])
    assert not verify_consistency(8, 8, CT_ROOTS[7], CT_ROOTS[7], [CT_ROOTS[7]])
    assert not verify_consistency(1, 1, EMPTY_ROOT_HASH, SOME_HASH, [])
    assert CT_TREE.consistency_proof(8, 8) == []
    assert CT_TREE.consistency_proof(3, 3) == []


def test_consistency_from_the_empty_tree() -> None:
    assert CT_TREE.consistency_proof(0, 8) == []
    assert CT_TREE.consistency_proof(0, 0) == []
    assert verify_consistency(0, 1, EMPTY_ROOT_HASH, CT_ROOTS[0], [])
    assert verify_consistency(0, 8, EMPTY_ROOT_HASH, CT_ROOTS[7], [])
    assert not verify_consistency(0, 8, SOME_HASH, CT_ROOTS[7], [])
    assert not verify_consistency(0, 8, EMPTY_ROOT_HASH, CT_ROOTS[7], [EMPTY_ROOT_HASH])


@pytest.mark.parametrize(("old_size", "new_size"), [(1, 0), (2, 1), (8, 6), (-1, 3), (3, -1)])
def test_consistency_backwards_or_negative_fails(old_size: int, new_size: int) -> None:
    assert not verify_consistency(old_size, new_size, SOME_HASH, SOME_HASH, [])
    assert not verify_consistency(old_size, new_size, SOME_HASH, SOME_HASH, [SOME_HASH])


def test_malformed_input_is_false_not_an_exception() -> None:
    root, leaf = CT_ROOTS[7], log_leaf_hash(CT_LEAF_INPUTS[0])
    proof = CT_INCLUSION[1][2]
    junk: list[object] = [None, "abc", 1.5, True, b"", bytes(33), [None], ["x" * 32]]
    for bad in junk:
        assert not verify_inclusion(bad, 0, 8, proof, root)  # type: ignore[arg-type]
        assert not verify_inclusion(leaf, bad, 8, proof, root)  # type: ignore[arg-type]
        assert not verify_inclusion(leaf, 0, bad, proof, root)  # type: ignore[arg-type]
        assert not verify_inclusion(leaf, 0, 8, bad, root)  # type: ignore[arg-type]
        assert not verify_inclusion(leaf, 0, 8, proof, bad)  # type: ignore[arg-type]
        assert not verify_inclusion(leaf, 0, 8, [*proof[:2], bad], root)  # type: ignore[list-item]
    old, new, cproof = CT_CONSISTENCY[2]
    old_root, new_root = CT_ROOTS[old - 1], CT_ROOTS[new - 1]
    for bad in junk:
        assert not verify_consistency(bad, new, old_root, new_root, cproof)  # type: ignore[arg-type]
        assert not verify_consistency(old, bad, old_root, new_root, cproof)  # type: ignore[arg-type]
        assert not verify_consistency(old, new, bad, new_root, cproof)  # type: ignore[arg-type]
        assert not verify_consistency(old, new, old_root, bad, cproof)  # type: ignore[arg-type]
        assert not verify_consistency(old, new, old_root, new_root, bad)  # type: ignore[arg-type]
        assert not verify_consistency(old, new, old_root, new_root, [bad, *cproof[1:]])  # type: ignore[list-item]


# --- LogTree's own argument checks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda t: t.inclusion_proof(8, 8), "index"),
        (lambda t: t.inclusion_proof(-1, 8), "index"),
        (lambda t: t.inclusion_proof(3, 3), "index"),
        (lambda t: t.inclusion_proof(0, 0), "index"),
        (lambda t: t.inclusion_proof(0, 9), "size"),
        (lambda t: t.root(9), "size"),
        (lambda t: t.root(-1), "size"),
        (lambda t: t.leaf(8), "index"),
        (lambda t: t.leaf(-1), "index"),
        (lambda t: t.consistency_proof(5, 4), "old_size"),
        (lambda t: t.consistency_proof(-1, 4), "old_size"),
        (lambda t: t.consistency_proof(2, 9), "new_size"),
        (lambda t: t.append(b"short"), "leaf_hash"),
        (lambda t: t.append(bytes(33)), "leaf_hash"),
    ],
)
def test_out_of_range_requests_name_the_argument(
    call: Callable[[LogTree], object], argument: str
) -> None:
    tree = LogTree(log_leaf_hash(data) for data in CT_LEAF_INPUTS)
    with pytest.raises(ValueError, match=rf"^{argument}: "):
        call(tree)
    assert tree.size == 8
    assert tree.root() == CT_ROOTS[7]


# --- properties ----------------------------------------------------------------------------

PROPERTY_TREE = LogTree(log_leaf_hash(i.to_bytes(4, "big")) for i in range(600))


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, PROPERTY_TREE.size))
    return size, draw(st.integers(0, size - 1))


@settings(max_examples=300, deadline=None)
@given(size_and_index(), st.data())
def test_inclusion_verifies_and_any_bit_flip_fails(
    size_index: tuple[int, int], data: st.DataObject
) -> None:
    size, index = size_index
    leaf, root = PROPERTY_TREE.leaf(index), PROPERTY_TREE.root(size)
    proof = PROPERTY_TREE.inclusion_proof(index, size)
    assert verify_inclusion(leaf, index, size, proof, root)
    parts = [leaf, *proof, root]
    part = data.draw(st.integers(0, len(parts) - 1))
    parts[part] = flip(parts[part], data.draw(st.integers(0, 255)))
    assert not verify_inclusion(parts[0], index, size, parts[1:-1], parts[-1])
    other = data.draw(st.integers(0, size - 1))
    if other != index:
        assert not verify_inclusion(leaf, other, size, proof, root)


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new_size = draw(st.integers(1, PROPERTY_TREE.size))
    return draw(st.integers(1, new_size)), new_size


@settings(max_examples=300, deadline=None)
@given(old_and_new(), st.data())
def test_consistency_verifies_and_any_bit_flip_fails(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    old_size, new_size = sizes
    old_root, new_root = PROPERTY_TREE.root(old_size), PROPERTY_TREE.root(new_size)
    proof = PROPERTY_TREE.consistency_proof(old_size, new_size)
    assert verify_consistency(old_size, new_size, old_root, new_root, proof)
    parts = [old_root, new_root, *proof]
    part = data.draw(st.integers(0, len(parts) - 1))
    parts[part] = flip(parts[part], data.draw(st.integers(0, 255)))
    assert not verify_consistency(old_size, new_size, parts[0], parts[1], parts[2:])


# --- storage and cost ----------------------------------------------------------------------


def test_100k_leaves_cost_logarithmic_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return node_hash(left, right)

    monkeypatch.setattr(log_tree, "node_hash", counting)
    n = 100_000
    tree = LogTree()
    for i in range(n):
        tree.append(log_leaf_hash(i.to_bytes(4, "big")))
    assert calls == n - n.bit_count()

    def cost(run: Callable[[], object]) -> int:
        nonlocal calls
        calls = 0
        run()
        return calls

    for size in (1, 2, 3, 1023, 1024, 1025, 65_537, 99_999, n):
        bound = max(1, math.ceil(math.log2(size)))
        assert cost(lambda s=size: tree.root(s)) <= bound  # type: ignore[misc]
        for index in {0, size // 3, size // 2, size - 2, size - 1} - {-1}:
            proof = tree.inclusion_proof(index, size)
            assert len(proof) <= bound
            assert cost(lambda i=index, s=size: tree.inclusion_proof(i, s)) <= bound  # type: ignore[misc]
        for old in {1, size // 3, size // 2, size - 1, size} - {0}:
            proof = tree.consistency_proof(old, size)
            assert len(proof) <= bound + 1
            assert cost(lambda o=old, s=size: tree.consistency_proof(o, s)) <= bound  # type: ignore[misc]
    monkeypatch.undo()
    size, index = 99_999, 77_777
    root = tree.root(size)
    assert verify_inclusion(tree.leaf(index), index, size, tree.inclusion_proof(index, size), root)
    assert verify_consistency(
        65_537, size, tree.root(65_537), root, tree.consistency_proof(65_537, size)
    )
