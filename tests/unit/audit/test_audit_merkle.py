"""merkle_root: RFC 6962's tree over the heads sorted by household id."""

from __future__ import annotations

import hashlib

import pytest

from services.audit.domain.merkle import EMPTY_ROOT, leaf_data, leaf_hash, merkle_root, node_hash


def heads(n: int) -> list[tuple[str, int, str]]:
    return [(f"HH-{i:04d}", i + 1, hashlib.sha256(str(i).encode()).hexdigest()) for i in range(n)]


def rfc6962(leaves: list[bytes]) -> bytes:
    """MTH of RFC 6962 section 2.1, written as the RFC states it (recursive split)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(rfc6962(leaves[:k]), rfc6962(leaves[k:]))


@pytest.mark.parametrize("n", list(range(1, 34)))
def test_root_is_rfc_6962_tree_hash(n: int) -> None:
    triples = heads(n)
    assert merkle_root(triples) == rfc6962([leaf_hash(*t) for t in triples]).hex()


def test_empty_tree_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").hexdigest()


def test_leaf_commits_to_id_length_and_head_with_domain_separation() -> None:
    head = "ab" * 32
    assert leaf_data("HH-1", 3, head) == b"HH-1\x00" + (3).to_bytes(8, "big") + bytes.fromhex(head)
    data = leaf_data("HH-1", 3, head)
    assert leaf_hash("HH-1", 3, head) == hashlib.sha256(b"\x00" + data).digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_root_does_not_depend_on_the_order_heads_are_given_in() -> None:
    triples = heads(9)
    assert merkle_root(triples) == merkle_root(list(reversed(triples)))


@pytest.mark.parametrize("field", [0, 1, 2])
def test_any_change_to_any_head_changes_the_root(field: int) -> None:
    triples = heads(7)
    household_id, length, head_hash = triples[3]
    changed = [
        ("HH-0003x", length, head_hash),
        (household_id, 99, head_hash),
        (household_id, length, "00" * 32),
    ][field]
    assert merkle_root(triples) != merkle_root([*triples[:3], changed, *triples[4:]])


def test_a_dropped_household_changes_the_root() -> None:
    triples = heads(8)
    assert merkle_root(triples) != merkle_root(triples[:-1])


def test_two_heads_for_one_household_are_refused() -> None:
    with pytest.raises(ValueError, match="two heads"):
        merkle_root([("HH-1", 1, "00" * 32), ("HH-1", 2, "11" * 32)])


def test_a_leaf_cache_gives_the_same_root_and_rehashes_only_changed_heads() -> None:
    triples = heads(20)
    cache: dict[str, tuple[int, str, bytes]] = {}
    assert merkle_root(triples, cache) == merkle_root(triples) and len(cache) == 20
    cache["HH-0000"] = (1, triples[0][2], b"\x00" * 32)  # a stale-looking but matching entry
    assert merkle_root(triples, cache) != merkle_root(triples)  # proves the cache is used
    grown = [("HH-0000", 2, "cd" * 32), *triples[1:]]
    assert merkle_root(grown, cache) == merkle_root(grown)  # a changed head is rehashed
