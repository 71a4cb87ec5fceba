"""The verifiable log's phase on a tiny log: every figure there, every proof verified, the tree
head's size its published size, and no broker started when the loop's phases are skipped."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from functools import partial
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench import report, run, tree_heads
from bench.__main__ import _names, _parser, exit_status
from contracts.topics import CHAIN
from events.audit import TreeHead
from events.canonical import canonical_json

RECORDS = 2_000
SAMPLES = 200


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    return tree_heads.measure(RECORDS, samples=SAMPLES, heads=20, seed=7)


def quiet() -> Console:
    return Console(file=StringIO(), width=240)


def test_the_log_is_households_of_about_nine_events_each_on_its_partition() -> None:
    log = tree_heads.synthetic_log(20_000, CHAIN.partitions, seed=1)
    assert len(log.records) == 20_000
    events = Counter(household_id for _, household_id, _ in log.records)
    assert set(events) == set(log.households)
    assert 8 <= len(log.records) / len(log.households) <= 10
    for partition, household_id, record_hash in log.records[:500]:
        assert partition == tree_heads.partition_of(household_id, CHAIN.partitions)
        assert len(bytes.fromhex(record_hash)) == 32
    # A household's events are spread over the log, not adjacent.
    assert log.records[0][1] != log.records[1][1]
    assert tree_heads.synthetic_log(20_000, CHAIN.partitions, seed=1) == log


def test_every_figure_is_there_and_positive(figures: dict[str, Any]) -> None:
    assert figures["records"] == RECORDS
    assert figures["partitions"] == CHAIN.partitions
    assert sum(figures["partition_sizes"].values()) == RECORDS
    assert figures["households"] > 0
    assert figures["baseline"]["sha256_leaf_ns"] > 0
    assert figures["baseline"]["tenth"]["records"] == RECORDS // 10
    assert figures["baseline"]["log_ratio"] > 1
    build = figures["build"]
    for key in ("seconds", "us_per_record", "cpu_us_per_record", "per_record_sha256"):
        assert build[key] > 0, key
    assert build["cpu_per_record_vs_tenth"] > 0
    assert build["traced_bytes_per_record"] > 64  # a leaf alone is 32 bytes, its parents as many
    for kind in ("inclusion", "consistency", "household_inclusion"):
        for step in ("generate", "verify"):
            summary = figures[kind][step]
            assert summary["count"] == SAMPLES
            assert 0 < summary["p50_us"] <= summary["p99_us"] <= summary["max_us"]
            assert summary["p50_sha256"] > 0
            assert summary["p50_vs_tenth"] > 0
            assert figures["baseline"]["tenth"][kind][step]["count"] == SAMPLES
    for step in ("publish", "roots", "sign", "verify"):
        assert figures["tree_head"][step]["count"] == 20
        assert figures["tree_head"][step]["p50_us"] > 0


def test_every_proof_and_tree_head_verified(figures: dict[str, Any]) -> None:
    assert figures["all_verified"]
    assert figures["failed"] == {"inclusion": 0, "consistency": 0, "household": 0}
    assert figures["baseline"]["tenth"]["failed"] == figures["failed"]
    assert figures["tree_head"]["verified"]


def test_proofs_are_about_log2_of_the_partition_hashes_long(figures: dict[str, Any]) -> None:
    largest = max(figures["partition_sizes"].values())
    for kind in ("inclusion", "consistency"):
        hashes = figures[kind]["proof_hashes"]
        assert 1 <= hashes["min"] <= hashes["mean"] <= hashes["max"]
        assert hashes["max"] <= math.ceil(math.log2(largest)) + 1
    events = figures["household_inclusion"]["events"]
    assert 1 <= events["min"] <= events["max"] <= tree_heads.EVENTS_PER_HOUSEHOLD[1]


def test_the_tree_head_size_is_that_of_the_head_published_over_this_log(
    figures: dict[str, Any],
) -> None:
    head = figures["tree_head"]
    document = head["document"]
    assert head["bytes"] == len(canonical_json(document))
    signed = TreeHead.model_validate(document)
    assert head["signed_bytes"] == len(
        canonical_json(signed.signed_document() | {"signature": signed.signature})
    )
    # A tree for each partition holding records (a small log leaves some of 64 empty), and
    # every record in one.
    assert sum(t.size for t in signed.verified_trees()) == RECORDS
    index = tree_heads.build_index(tree_heads.synthetic_log(RECORDS, CHAIN.partitions, 7).records)
    assert {t.partition: (t.size, t.root) for t in signed.verified_trees()} == {
        p: (size, root.hex()) for p, (size, root) in index.tree_sizes().items()
    }
    # What is signed does not grow with the partitions; what is published beside it does.
    largest = head["at_largest_sizes"]
    assert list(largest) == ["6", "48", "64"]  # and the catalog's 64
    assert head["signed_bytes"] < largest["6"]["signed"] <= largest["64"]["signed"] < 1024
    assert largest["64"]["signed"] - largest["6"]["signed"] <= 2
    assert largest["48"]["with_trees"] > 5 * largest["6"]["with_trees"]
    assert head["signed_bytes_at_largest_sizes"] == largest["64"]["signed"]


def test_a_household_proven_with_a_wrong_event_does_not_verify() -> None:
    log = tree_heads.synthetic_log(1_000, CHAIN.partitions, seed=3)
    index = tree_heads.build_index(log.records)
    sizes = {p: size for p, (size, _) in index.tree_sizes().items()}
    roots = {p: root for p, (_, root) in index.tree_sizes().items()}
    household_id = log.households[0]
    hashes = [h for _, owner, h in log.records if owner == household_id]
    served = tree_heads.serve_inclusion(index, household_id, sizes)
    assert len(served) == len(hashes)
    assert tree_heads.check_household(household_id, hashes, served, sizes, roots)
    assert not tree_heads.check_household(
        household_id, ["0" * 64, *hashes[1:]], served, sizes, roots
    )
    assert not tree_heads.check_household(household_id, hashes[:-1], served, sizes, roots)


def test_the_goals_are_targets_of_the_run(figures: dict[str, Any]) -> None:
    found = tree_heads.targets(figures)
    assert [t["target"] for t in found] == ["< 1 KB", "< 1 KB", "< 20 ms", "< 20 ms"]
    assert all(isinstance(t["met"], bool) for t in found)
    assert found[0]["met"]  # a size, not a timing: a few hundred bytes
    assert report.targets({"proofs": figures}) == found  # no loop ran: no throughput target
    shown = StringIO()
    Console(file=shown, width=240).print(report.table({"proofs": figures, "targets": found}))
    for text in ("tree head (signed JSON)", "consistency proof", "target: p99 proof"):
        assert text in shown.getvalue()


def test_the_phase_is_chosen_like_the_others() -> None:
    args = _parser().parse_args(["--skip", "http,proofs", "--log-records", "5000"])
    assert args.log_records == 5000
    assert _names(args.skip, run.PHASES, "phase") == ("http", "proofs")
    assert _parser().parse_args([]).log_records == 1_000_000
    assert run.Options().needs_loop
    assert run.Options(skip=("http", "kafka", "proofs")).needs_loop
    assert not run.Options(skip=run.LOOP_PHASES).needs_loop


def test_a_run_of_the_proofs_alone_starts_no_broker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_broker(*_: object, **__: object) -> None:
        raise AssertionError("a broker was started")

    monkeypatch.setattr(run, "fresh_broker", no_broker)
    monkeypatch.setattr(tree_heads, "measure", partial(tree_heads.measure, samples=20, heads=5))
    options = run.Options(skip=run.LOOP_PHASES, log_records=1_000, output=tmp_path / "r.json")
    results = asyncio.run(run.run(options, quiet()))
    assert results["proofs"]["records"] == 1_000
    assert results["run"]["log_records"] == 1_000
    assert "checks" not in results and "baseline" not in results
    assert [t["target"] for t in results["targets"]] == ["< 1 KB", "< 1 KB", "< 20 ms", "< 20 ms"]
    assert exit_status(results, quiet()) == 0


def test_a_proof_that_did_not_verify_fails_the_run() -> None:
    assert exit_status({}, quiet()) == 0
    assert exit_status({"proofs": {"all_verified": True}}, quiet()) == 0
    assert exit_status({"proofs": {"all_verified": False, "failed": {}}}, quiet()) == 1
    assert exit_status({"checks": {"ok": False, "problems": ["HH-1"]}}, quiet()) == 1
