"""The verifiable log, measured in-process: no broker, no services.

The audit service folds every chain record into one RFC 6962 Merkle tree per partition of
`assist.chain` (services/audit/index.py), signs the forest root over each partition's (size, root)
in a tree head and
serves inclusion and consistency proofs that auditors check on their own side. This phase builds
that index over a synthetic log (households of about 9 events, each filed on the partition
Kafka's default partitioner gives its key), then measures what the issue asks at that size: the
tree head (its signed bytes, and as published with the partition trees) and the time to make
one, and the time to generate and to verify proofs.

Pure CPU work of one process, so every speed is also given against a baseline of the same run:
one SHA-256 over a leaf (the least any step of a proof costs), and the same figures over the
first tenth of the log (a proof costs O(log n) hashes: ten times the records, a few hashes more).
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import random
import time
import tracemalloc
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from aiokafka.partitioner import murmur2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.stats import percentile
from bench.usage import rss_mib
from contracts.topics import CHAIN, TopicNames
from events.audit import TreeHead, TreeHeadV1, parse_tree_head
from events.canonical import canonical_json
from services.audit.domain.log_tree import verify_consistency, verify_inclusion
from services.audit.domain.merkle import leaf_data
from services.audit.domain.tree_head import make_tree_head, record_leaf, verify_tree_head
from services.audit.index import ChainIndex

Record = tuple[int, str, str]  # partition, household_id, the record's hash (hex)
# (what, done, total): called between measurements, never inside one.
Progress = Callable[[str, int, int], None]

TARGETS = {
    "tree_head_bytes": 1024,  # the signed tree head, at any size of the log and partition count
    "proof_p99_ms": 20.0,  # generating a proof, and (separately) verifying it
}
EVENTS_PER_HOUSEHOLD = (5, 13)  # uniform: 9 on average
INTERLEAVED = 100  # households whose events alternate in the log, as concurrent chains do
SAMPLES = 3_000  # proofs generated and verified, of each kind
HEADS = 300  # tree heads made (and verified) for their timings
LARGEST_SIZE = 2**63 - 1  # Kafka offsets are signed 64-bit: no partition can hold more
PARTITION_COUNTS = (6, 48)  # the signed size at the largest sizes, with as many partitions
MIN_RECORDS = 1_000  # its tenth still has a hundred records to time proofs over
_CHUNK = 1 << 16  # records folded between two progress reports


@dataclass(frozen=True)
class SyntheticLog:
    """Chain records in log order, and the households they belong to."""

    records: list[Record]
    households: list[str]  # every household with at least one record, in order of appearance

    def prefix(self, count: int) -> SyntheticLog:
        """The first `count` records: the log as it was earlier."""
        records = self.records[:count]
        present = {household_id for _, household_id, _ in records}
        return SyntheticLog(records, [h for h in self.households if h in present])


def partition_of(household_id: str, partitions: int) -> int:
    """Where Kafka's default partitioner (murmur2 of the key) files the household's records."""
    return (int(murmur2(household_id.encode())) & 0x7FFFFFFF) % partitions


def synthetic_log(count: int, partitions: int, seed: int) -> SyntheticLog:
    """`count` chain records of households of 5 to 13 events, INTERLEAVED households at a time
    taking turns (a household's events are spread over the log, not adjacent)."""
    rng = random.Random(seed)  # noqa: S311 - workload data, not secrets
    records: list[Record] = []
    households: list[str] = []
    while len(records) < count:
        block = []
        for _ in range(INTERLEAVED):
            household_id = f"BH-log-{len(households):07d}"
            households.append(household_id)
            events = rng.randint(*EVENTS_PER_HOUSEHOLD)
            block.append((household_id, partition_of(household_id, partitions), events))
        for position in range(1, EVENTS_PER_HOUSEHOLD[1] + 1):
            records.extend(
                (partition, household_id, rng.randbytes(32).hex())
                for household_id, partition, events in block
                if position <= events
            )
    return SyntheticLog(records, households).prefix(count)


def build_index(records: Sequence[Record], progress: Progress | None = None) -> ChainIndex:
    """What the audit service does for each chain record once it is parsed: the household's
    offsets and head, the record's leaf, the partition's tree (ChainIndex.fold_parsed)."""
    index = ChainIndex()
    next_offset: dict[int, int] = {}
    total = len(records)
    for start in range(0, total, _CHUNK):
        for partition, household_id, record_hash in records[start : start + _CHUNK]:
            offset = next_offset.get(partition, 0)
            next_offset[partition] = offset + 1
            index.fold_parsed(partition, offset, household_id, None, {"hash": record_hash})
        if progress is not None:
            progress(f"verifiable log: fold {total:,} chain records", start + _CHUNK, total)
    return index


def sha256_seconds(data: bytes, rounds: int = 100_000, repeats: int = 7) -> float:
    """Time of one SHA-256 over `data` behind the leaf prefix: the unit of the figures. The
    fastest of `repeats` rounds, as timeit does: the one least disturbed by other programs."""
    sha256 = hashlib.sha256
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(rounds):
            sha256(b"\x00" + data).digest()
        times.append((time.perf_counter() - started) / rounds)
    return min(times)


def summary_us(seconds: Sequence[float], unit: float) -> dict[str, float | int]:
    """count, p50, p95, p99, max, mean in microseconds, and p50 and p99 in units of `unit`
    seconds (one SHA-256): durations of a few microseconds, which milliseconds would round off."""
    if not seconds:
        return {"count": 0}
    us = [s * 1e6 for s in seconds]
    p50, p99 = percentile(us, 50), percentile(us, 99)
    return {
        "count": len(us),
        "p50_us": round(p50, 2),
        "p95_us": round(percentile(us, 95), 2),
        "p99_us": round(p99, 2),
        "max_us": round(max(us), 2),
        "mean_us": round(sum(us) / len(us), 2),
        "p50_sha256": round(p50 / (unit * 1e6), 1),
        "p99_sha256": round(p99 / (unit * 1e6), 1),
    }


def _lengths(proofs: Sequence[int]) -> dict[str, float | int]:
    if not proofs:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {"min": min(proofs), "mean": round(sum(proofs) / len(proofs), 2), "max": max(proofs)}


def _pick(rng: random.Random, weights: dict[int, int]) -> tuple[int, int]:
    """A partition with probability proportional to its weight, and a number below the weight:
    uniform over every (partition, i < weight)."""
    partitions = [p for p, w in weights.items() if w > 0]
    bounds = list(accumulate(weights[p] for p in partitions))
    drawn = rng.randrange(bounds[-1])
    at = bisect_right(bounds, drawn)
    return partitions[at], drawn - (bounds[at - 1] if at else 0)


def serve_inclusion(
    index: ChainIndex, household_id: str, sizes: dict[int, int]
) -> list[tuple[int, int, list[str]]]:
    """What GET /v1/households/{id}/inclusion computes (ChainIndex.inclusion_proofs), without
    its HTTP and JSON: each event's (partition, leaf index, proof in hex) in the trees of
    `sizes`."""
    return [
        (partition, leaf, [h.hex() for h in path])
        for partition, leaf, _, path in index.inclusion_proofs(household_id, sizes)
        if path is not None
    ]


def check_household(
    household_id: str,
    record_hashes: Sequence[str],
    served: Sequence[tuple[int, int, list[str]]],
    sizes: dict[int, int],
    roots: dict[int, bytes],
) -> bool:
    """What an auditor computes per household (services/audit/tree_head_check.py, the chain's
    own hash links aside): each event's leaf from the event, its proof against the signed root."""
    verified = len(served) == len(record_hashes)
    for sequence, ((partition, leaf_index, proof), record_hash) in enumerate(
        zip(served, record_hashes, strict=False), start=1
    ):
        leaf = record_leaf(household_id, sequence, record_hash)
        path = [bytes.fromhex(h) for h in proof]
        if not verify_inclusion(leaf, leaf_index, sizes[partition], path, roots[partition]):
            verified = False
    return verified


def _hashes_of(records: Sequence[Record], households: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {h: [] for h in households}
    for _, household_id, record_hash in records:
        chain = found.get(household_id)
        if chain is not None:
            chain.append(record_hash)
    return found


def measure_proofs(
    index: ChainIndex,
    log: SyntheticLog,
    samples: int,
    rng: random.Random,
    unit: float,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Generate and verify `samples` proofs of each kind in the index's trees at their full
    size (the largest log): one event's inclusion, the inclusion of all a household's events
    (one request of an auditor) and a consistency proof from a random earlier size."""
    trees = {p: partition_log.tree for p, partition_log in index.logs.items()}
    sizes = {p: tree.size for p, tree in trees.items()}
    roots = {p: tree.root() for p, tree in trees.items()}
    chosen = rng.choices(log.households, k=samples)
    hashes = _hashes_of(log.records, set(chosen))
    clock = time.perf_counter
    times: dict[str, list[float]] = {
        f"{kind}{step}": []
        for kind in ("inclusion", "household", "consistency")
        for step in ("", "_verify")
    }
    lengths: dict[str, list[int]] = {"inclusion": [], "consistency": [], "household_events": []}
    failed = {"inclusion": 0, "consistency": 0, "household": 0}
    for done, household_id in enumerate(chosen, start=1):
        # One event of the household: its proof alone, and verify_inclusion alone.
        leaves = index.leaves(household_id)
        sequence = rng.randrange(len(leaves))
        partition, leaf_index = leaves[sequence]
        tree, size, root = trees[partition], sizes[partition], roots[partition]
        started = clock()
        proof = tree.inclusion_proof(leaf_index, size)
        times["inclusion"].append(clock() - started)
        leaf = record_leaf(household_id, sequence + 1, hashes[household_id][sequence])
        started = clock()
        verified = verify_inclusion(leaf, leaf_index, size, proof, root)
        times["inclusion_verify"].append(clock() - started)
        failed["inclusion"] += not verified
        lengths["inclusion"].append(len(proof))
        # Every event of the household, as served and as an auditor checks them.
        started = clock()
        served = serve_inclusion(index, household_id, sizes)
        times["household"].append(clock() - started)
        started = clock()
        verified = check_household(household_id, hashes[household_id], served, sizes, roots)
        times["household_verify"].append(clock() - started)
        failed["household"] += not verified
        lengths["household_events"].append(len(served))
        # A consistency proof from a random earlier size to the full one.
        partition, below = _pick(rng, {p: s - 1 for p, s in sizes.items()})
        tree, size, old_size = trees[partition], sizes[partition], below + 1
        old_root = tree.root(old_size)
        started = clock()
        proof = tree.consistency_proof(old_size, size)
        times["consistency"].append(clock() - started)
        started = clock()
        verified = verify_consistency(old_size, size, old_root, roots[partition], proof)
        times["consistency_verify"].append(clock() - started)
        failed["consistency"] += not verified
        lengths["consistency"].append(len(proof))
        if progress is not None and (done % 500 == 0 or done == samples):
            progress(f"verifiable log at {len(log.records):,}: proofs", done, samples)
    return {
        "partition_sizes": {str(p): s for p, s in sorted(sizes.items())},
        "inclusion": {
            "generate": summary_us(times["inclusion"], unit),
            "verify": summary_us(times["inclusion_verify"], unit),
            "proof_hashes": _lengths(lengths["inclusion"]),
        },
        "consistency": {
            "generate": summary_us(times["consistency"], unit),
            "verify": summary_us(times["consistency_verify"], unit),
            "proof_hashes": _lengths(lengths["consistency"]),
        },
        "household_inclusion": {
            "generate": summary_us(times["household"], unit),
            "verify": summary_us(times["household_verify"], unit),
            "events": _lengths(lengths["household_events"]),
        },
        "failed": failed,
    }


def measure_tree_heads(
    index: ChainIndex, heads: int, unit: float, chain_topic: str
) -> dict[str, Any]:
    """Make, sign and serialise a tree head over the index `heads` times, as the checkpointer
    publishes it (services/audit/checkpointer.py), and check each as an auditor does."""
    key = Ed25519PrivateKey.generate()
    public_key = key.public_key()
    clock = time.perf_counter
    roots: list[float] = []
    signing: list[float] = []
    publishing: list[float] = []
    checking: list[float] = []
    published = b""
    problems: list[str] = []
    for _ in range(heads):
        started = clock()
        sizes = index.tree_sizes()
        rooted = clock()
        head = make_tree_head(sizes, key=key, created_at=datetime.now(UTC), chain_topic=chain_topic)
        signed = clock()
        published = canonical_json(head.model_dump(mode="json"))
        done = clock()
        problems = verify_tree_head(parse_tree_head(json.loads(published)), public_key)
        checking.append(clock() - done)
        roots.append(rooted - started)
        signing.append(signed - rooted)
        publishing.append(done - started)
    partitions = sorted(index.logs)

    def sizes_at(records: int, count: int) -> dict[str, int]:
        """Bytes of the head with `count` partitions of `records` records each: signed (what an
        auditor keeps) and with the unsigned partition trees (what is published)."""
        head = make_tree_head(
            {p: (records, bytes(32)) for p in range(count)},
            key=key,
            created_at=datetime.now(UTC).replace(microsecond=1),  # the longest timestamp
            chain_topic=chain_topic,
        )
        return {"signed": signed_bytes(head), "with_trees": published_bytes(head)}

    largest = {
        str(count): sizes_at(LARGEST_SIZE, count)
        for count in sorted({CHAIN.partitions, *PARTITION_COUNTS})
    }
    return {
        "bytes": len(published),  # as published: the signed fields and the partition trees
        "signed_bytes": signed_bytes(parse_tree_head(json.loads(published))),
        # Partitions -> bytes of a head with every partition at 2^63-1 records
        "at_largest_sizes": largest,
        "signed_bytes_at_largest_sizes": max(s["signed"] for s in largest.values()),
        "partitions": len(partitions),
        "publish": summary_us(publishing, unit),  # roots + make and sign + canonical JSON
        "roots": summary_us(roots, unit),
        "sign": summary_us(signing, unit),
        "verify": summary_us(checking, unit),  # parse, check the signature and the forest root
        "verified": not problems,
        "document": json.loads(published),
    }


def signed_bytes(head: TreeHead | TreeHeadV1) -> int:
    """Bytes of what the signature covers, with the signature: what an auditor must keep."""
    return len(canonical_json(head.signed_document() | {"signature": head.signature}))


def published_bytes(head: TreeHead | TreeHeadV1) -> int:
    """Bytes of the record on `assist.checkpoints` (a version 2 head with its trees)."""
    return len(canonical_json(head.model_dump(mode="json")))


def _timed_build(
    records: Sequence[Record], progress: Progress | None
) -> tuple[ChainIndex, dict[str, float]]:
    gc.collect()
    rss_before = rss_mib(os.getpid())
    wall, cpu = time.perf_counter(), time.process_time()
    index = build_index(records, progress)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gc.collect()
    rss_after = rss_mib(os.getpid())
    resident = (rss_after - rss_before) * 2**20 if rss_before and rss_after else 0.0
    return index, {"seconds": wall, "cpu_seconds": cpu, "resident_bytes": resident}


def _traced_bytes(records: Sequence[Record]) -> int:
    """Bytes the index holds once built, every allocation traced (slow: timed elsewhere)."""
    gc.collect()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = build_index(records)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    del index
    return held


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 2) if baseline > 0 else None


def measure(
    records: int,
    *,
    partitions: int = CHAIN.partitions,
    samples: int = SAMPLES,
    heads: int = HEADS,
    seed: int = 2026,
    chain_topic: str = TopicNames().chain,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every figure of the verifiable log over a log of `records` chain records (JSON-ready);
    `all_verified` is False when a proof or a tree head did not verify."""
    if records < MIN_RECORDS:
        raise ValueError(f"records: at least {MIN_RECORDS:,}, got {records:,}")
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    log = synthetic_log(records, partitions, seed)
    if progress is not None:
        progress("verifiable log: synthetic chain records", records, records)
    _, household_id, record_hash = log.records[-1]
    unit = sha256_seconds(leaf_data(household_id, 9, record_hash))

    index, build = _timed_build(log.records, progress)
    head = measure_tree_heads(index, heads, unit, chain_topic)
    if progress is not None:
        progress("verifiable log: tree heads made, signed, checked", heads, heads)
    proofs = measure_proofs(index, log, samples, rng, unit, progress)
    del index
    gc.collect()

    tenth = log.prefix(records // 10)
    small, tenth_build = _timed_build(tenth.records, None)
    tenth_proofs = measure_proofs(small, tenth, samples, rng, unit, progress)
    del small
    traced = _traced_bytes(tenth.records)
    if progress is not None:
        progress("verifiable log: memory traced over its first tenth", 1, 1)

    per_record = build["seconds"] / records
    cpu_per_record = build["cpu_seconds"] / records
    tenth_per_record = tenth_build["seconds"] / len(tenth.records)
    tenth_cpu_per_record = tenth_build["cpu_seconds"] / len(tenth.records)
    full_size = max(int(s) for s in proofs["partition_sizes"].values())
    tenth_size = max(int(s) for s in tenth_proofs["partition_sizes"].values())
    for kind in ("inclusion", "consistency", "household_inclusion"):
        for step in ("generate", "verify"):
            proofs[kind][step]["p50_vs_tenth"] = _ratio(
                proofs[kind][step]["p50_us"], tenth_proofs[kind][step]["p50_us"]
            )
    failed = proofs["failed"]
    return {
        "records": records,
        "partitions": partitions,
        "households": len(log.households),
        "events_per_household": round(records / len(log.households), 2),
        "baseline": {
            "sha256_leaf_ns": round(unit * 1e9, 1),
            "tenth": {
                "records": len(tenth.records),
                "build_us_per_record": round(tenth_per_record * 1e6, 3),
                "build_cpu_us_per_record": round(tenth_cpu_per_record * 1e6, 3),
                "inclusion": tenth_proofs["inclusion"],
                "consistency": tenth_proofs["consistency"],
                "household_inclusion": tenth_proofs["household_inclusion"],
                "failed": tenth_proofs["failed"],
            },
            # What O(log n) predicts for a proof's cost at the full log over that at a tenth.
            "log_ratio": round(math.log2(full_size) / math.log2(max(2, tenth_size)), 2),
        },
        "build": {
            "seconds": round(build["seconds"], 2),
            "us_per_record": round(per_record * 1e6, 3),
            "cpu_us_per_record": round(cpu_per_record * 1e6, 3),
            "per_record_sha256": _ratio(per_record, unit),
            # CPU time: a build takes seconds, long enough for other programs to stretch it.
            "cpu_per_record_vs_tenth": _ratio(cpu_per_record, tenth_cpu_per_record),
            "resident_bytes_per_record": round(build["resident_bytes"] / records, 1),
            "traced_bytes_per_record": round(traced / len(tenth.records), 1),
            "traced_over_records": len(tenth.records),
        },
        "tree_head": head,
        "inclusion": proofs["inclusion"],
        "consistency": proofs["consistency"],
        "household_inclusion": proofs["household_inclusion"],
        "partition_sizes": proofs["partition_sizes"],
        "failed": failed,
        "all_verified": head["verified"]
        and not any(failed.values())
        and not any(tenth_proofs["failed"].values()),
    }


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals for the verifiable log, each with the measured value and whether met."""
    head = figures["tree_head"]
    limit_ms = TARGETS["proof_p99_ms"]
    limit = TARGETS["tree_head_bytes"]
    most = max(head["at_largest_sizes"], key=int)
    found = [
        {
            "name": f"tree head size at {figures['records']:,} records (signed)",
            "target": f"< {limit / 1024:.0f} KB",
            "value": f"{head['signed_bytes']} B ({head['bytes']} B published with the trees)",
            "met": head["signed_bytes"] < limit,
        },
        {
            "name": "tree head size at any size (signed; "
            + " / ".join(head["at_largest_sizes"])
            + " partitions of 2^63-1 records)",
            "target": f"< {limit / 1024:.0f} KB",
            "value": " / ".join(f"{s['signed']}" for s in head["at_largest_sizes"].values())
            + f" B ({head['at_largest_sizes'][most]['with_trees']:,} B published with the "
            f"{most} trees)",
            "met": head["signed_bytes_at_largest_sizes"] < limit,
        },
    ]
    for step, label in (("generate", "generation"), ("verify", "client verification")):
        p99 = {
            kind: figures[kind][step]["p99_us"] / 1000
            for kind in ("inclusion", "household_inclusion", "consistency")
        }
        found.append(
            {
                "name": f"p99 proof {label} at {figures['records']:,} records "
                "(one event / a household / consistency)",
                "target": f"< {limit_ms:.0f} ms",
                "value": " / ".join(f"{ms:.3f}" for ms in p99.values()) + " ms",
                "met": max(p99.values()) < limit_ms,
            }
        )
    return found
