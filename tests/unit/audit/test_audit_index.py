"""ChainIndex: positions per household, heads, idempotent folding, and the bounded bytes cache."""

from __future__ import annotations

import json

from unit.audit.audit_histories import chained, history

from services.audit.index import ChainIndex, RawCache, household_of


def feed(index: ChainIndex, households: list[str], partition: int = 0) -> list[bytes]:
    """Interleave the households' chains on one partition, as the log would hold them."""
    chains = [[e.to_bytes() for e in chained(history(h))] for h in households]
    offset, written = index.positions.get(partition, 0), []
    for position in range(max(len(c) for c in chains)):
        for household_id, chain in zip(households, chains, strict=True):
            if position < len(chain):
                index.fold(partition, offset, household_id.encode(), chain[position])
                written.append(chain[position])
                offset += 1
    return written


def test_each_household_gets_its_own_positions_and_head() -> None:
    index = ChainIndex(cache_bytes=0)
    feed(index, ["HH-A", "HH-B"])
    a = index.entries["HH-A"]
    assert a.length == 9 and a.positions() == [(0, 2 * n) for n in range(9)]
    assert index.entries["HH-B"].positions()[0] == (0, 1)
    assert index.heads_map["HH-A"] == (9, chained(history("HH-A"))[-1].hash)
    assert index.events == 18 and index.positions == {0: 18}
    assert [h.household_id for h in index.heads()] == ["HH-A", "HH-B"]


def test_folding_a_position_twice_changes_nothing() -> None:
    index = ChainIndex()
    value = chained(history("HH-A"))[0].to_bytes()
    assert index.fold(0, 0, b"HH-A", value)
    assert not index.fold(0, 0, b"HH-A", value)
    assert index.entries["HH-A"].length == 1 and index.events == 1


def test_covers_compares_positions_per_partition() -> None:
    index = ChainIndex()
    feed(index, ["HH-A"], partition=1)
    assert index.covers({1: 9}) and not index.covers({1: 10}) and not index.covers({0: 1})


def test_records_without_a_usable_key_are_counted_not_indexed() -> None:
    index = ChainIndex()
    index.fold(0, 0, None, b"garbage")
    index.fold(0, 1, b"bad key with spaces", b"{}")
    assert index.unfiled == 2 and not index.entries and index.positions == {0: 2}


def test_a_record_without_a_hash_is_pinned_by_its_bytes() -> None:
    index = ChainIndex()
    index.fold(0, 0, b"HH-A", b"not json")
    assert len(index.heads_map["HH-A"][1]) == 64


def test_a_record_on_another_partition_keeps_its_own_partition() -> None:
    index = ChainIndex()
    values = [e.to_bytes() for e in chained(history("HH-A"))]
    index.fold(0, 5, b"HH-A", values[0])
    index.fold(2, 3, b"HH-A", values[1])
    index.fold(0, 6, b"HH-A", values[2])
    assert index.entries["HH-A"].positions() == [(0, 5), (2, 3), (0, 6)]


def test_household_comes_from_the_key_else_from_the_document() -> None:
    assert household_of(b"HH-K", {"household_id": "HH-D"}) == "HH-K"
    assert household_of(None, {"household_id": "HH-D"}) == "HH-D"
    assert household_of(None, None) is None and household_of(b"\xff", None) is None


def test_the_cache_holds_whole_chains_within_its_budget() -> None:
    values = [e.to_bytes() for e in chained(history("HH-A"))]
    size = sum(len(v) for v in values)
    index = ChainIndex(cache_bytes=size * 2 + 10)
    feed(index, ["HH-A", "HH-B", "HH-C"])
    # C and B were written last; A, least recently touched, was evicted to stay in budget.
    assert index.cache.get("HH-A") is None
    cached = index.cache.get("HH-C")
    assert cached is not None and [json.loads(v or b"")["sequence"] for v in cached] == list(
        range(1, 10)
    )
    assert index.cache.size <= index.cache.budget


def test_a_chain_larger_than_the_budget_is_not_cached() -> None:
    cache = RawCache(budget=10)
    cache.put("HH-A", [b"x" * 11])
    assert cache.get("HH-A") is None and cache.size == 0
    cache.put("HH-B", [b"x" * 4])
    cache.append("HH-B", b"y" * 7)  # grows past the budget: evicted, never partial
    assert cache.get("HH-B") is None and cache.size == 0
    cache.append("HH-C", b"z")  # an uncached chain stays uncached
    assert cache.get("HH-C") is None
