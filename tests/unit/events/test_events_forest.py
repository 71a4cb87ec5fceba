"""The forest root a tree head signs: RFC 6962 hashing over one leaf per partition tree."""

from __future__ import annotations

import hashlib

import pytest

from events.forest import forest_root, partition_leaf
from services.audit.domain.log_tree import LogTree

TREES = [(p, 1_000 * (p + 1), hashlib.sha256(bytes([p])).digest()) for p in range(6)]


def test_one_partition_is_its_leaf_and_none_is_the_empty_tree() -> None:
    partition, size, root = TREES[0]
    leaf = partition_leaf(partition, size, root)
    expected = b"assist-partition-tree/1\x00" + bytes(4) + (1_000).to_bytes(8, "big") + root
    assert leaf == hashlib.sha256(b"\x00" + expected).digest()
    assert forest_root(TREES[:1]) == leaf
    assert forest_root([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("count", [2, 3, 5, 6, 48])
def test_several_partitions_hash_as_the_log_trees_do(count: int) -> None:
    trees = [(p, p, hashlib.sha256(p.to_bytes(2, "big")).digest()) for p in range(count)]
    leaves = LogTree(partition_leaf(*tree) for tree in trees)
    assert forest_root(trees) == leaves.root()


def test_any_partition_s_size_or_root_changes_the_forest_root() -> None:
    signed = forest_root(TREES)
    for n, (partition, size, root) in enumerate(TREES):
        for changed in ((partition, size + 1, root), (partition, size, bytes(32))):
            assert forest_root([*TREES[:n], changed, *TREES[n + 1 :]]) != signed
    assert forest_root(TREES[:-1]) != signed
    assert forest_root([TREES[1], TREES[0], *TREES[2:]]) != signed  # the order is signed too


def test_a_tree_that_does_not_fit_a_leaf_is_refused() -> None:
    with pytest.raises(ValueError, match="not a partition tree"):
        partition_leaf(2**31, 0, bytes(32))
    with pytest.raises(ValueError, match="not a partition tree"):
        partition_leaf(0, 2**63, bytes(32))
    assert forest_root([(2**31 - 1, 2**63 - 1, bytes(32))])
