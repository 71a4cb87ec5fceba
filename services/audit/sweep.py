"""Replaying the whole chain log outside the service: `assist verify --all` and `assist replay`.

One pass over `assist.chain` rebuilds the audit index from nothing (the projection the service
holds), verifies every chain (memory: one head per household), and, given a kept checkpoint,
compares every household it names with what the log holds today; given a kept tree head, the
Merkle tree of every partition, rebuilt here, with the roots it signed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from events.audit import AnyTreeHead, Checkpoint
from events.chain import Verification
from services.audit.chainlog import Record, read_log
from services.audit.domain.checkpoint import HeadFinding, ObservedHead, compare_heads
from services.audit.domain.merkle import merkle_root
from services.audit.domain.records import parse_record, stored_hash
from services.audit.domain.tree_head import log_problems
from services.audit.domain.verification import ChainsVerifier
from services.audit.index import ChainIndex, household_of
from services.runtime.settings import KafkaSettings
from services.runtime.writer_signature import signed_by_writer


@dataclass
class SweepReport:
    records: int
    events: int
    households: int
    unfiled: int
    seconds: float
    merkle_root: str  # over today's heads: what a checkpoint signed now would hold
    broken: list[tuple[str, Verification]] = field(default_factory=list)
    findings: list[HeadFinding] = field(default_factory=list)
    # Against a kept tree head: partitions cut short or rewritten (domain/tree_head.log_problems)
    log_findings: list[str] = field(default_factory=list)
    # With the chain writer's public key: (household, place) of records it did not append
    unsigned: list[tuple[str, int]] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def valid(self) -> bool:
        return not (self.broken or self.findings or self.log_findings or self.unsigned)


class _Sweep:
    def __init__(
        self, checkpoint: Checkpoint | None, writer_key: Ed25519PublicKey | None = None
    ) -> None:
        self.index = ChainIndex(cache_bytes=0)
        self.writer_key = writer_key
        self.unsigned: list[tuple[str, int]] = []
        self.verifier = ChainsVerifier()
        self.probe = {h.household_id: h.length for h in checkpoint.heads} if checkpoint else {}
        self.hash_at_checkpoint: dict[str, str] = {}

    def take(self, record: Record) -> None:
        document, problem = parse_record(record.value)
        household_id = household_of(record.key, document)
        self.index.fold_parsed(
            record.partition,
            record.offset,
            household_id,
            record.value,
            document,
            tuple(record.headers or ()),
        )
        if household_id is None:
            return
        if self.writer_key is not None and not signed_by_writer(
            self.writer_key, document.get("hash") if document else None, record.headers or ()
        ):
            # Not appended by the chain writer: named, and the chain verified without it.
            self.unsigned.append((household_id, self.index.entries[household_id].length))
            return
        self.verifier.add_parsed(household_id, document, problem)
        wanted = self.probe.get(household_id)
        if wanted is not None and self.index.entries[household_id].length == wanted:
            self.hash_at_checkpoint[household_id] = stored_hash(record.value, document)


async def sweep(
    kafka: KafkaSettings,
    topic: str,
    checkpoint: Checkpoint | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    tree_head: AnyTreeHead | None = None,
    writer_key: Ed25519PublicKey | None = None,
) -> SweepReport:
    """Read `topic` once from its beginning; verify every chain, and against `checkpoint`; with
    a kept `tree_head`, rebuild each partition's Merkle tree here and compare it with what the
    tree head signed."""
    started = time.perf_counter()
    state = _Sweep(checkpoint, writer_key)
    records = await read_log(kafka, topic, state.take, on_progress)
    index = state.index
    broken = []
    for household_id in state.verifier.households():
        verification = state.verifier.result(household_id)
        if verification is not None and not verification.valid:
            broken.append((household_id, verification))
    findings: list[HeadFinding] = []
    if checkpoint is not None:
        observed = {
            household_id: ObservedHead(entry.length, state.hash_at_checkpoint.get(household_id))
            for household_id, entry in index.entries.items()
        }
        findings = compare_heads(checkpoint.heads, observed)
    root = merkle_root((h, length, head) for h, (length, head) in index.heads_map.items())
    return SweepReport(
        records=records,
        events=index.events,
        households=len(index.entries),
        unfiled=index.unfiled,
        seconds=time.perf_counter() - started,
        merkle_root=root,
        broken=broken,
        findings=findings,
        log_findings=log_problems(tree_head, {p: log.tree for p, log in index.logs.items()})
        if tree_head is not None
        else [],
        unsigned=state.unsigned,
    )


async def sweep_with_progress(
    kafka: KafkaSettings,
    topic: str,
    checkpoint: Checkpoint | None,
    quiet: bool,
    tree_head: AnyTreeHead | None = None,
    writer_key: Ed25519PublicKey | None = None,
) -> SweepReport:
    """`sweep`, with a progress bar on a terminal's stderr (never on a pipe or with --json)."""
    errors = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=errors, transient=True, disable=quiet or not errors.is_terminal
    ) as progress:
        task = progress.add_task(f"reading {topic}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return await sweep(kafka, topic, checkpoint, advance, tree_head, writer_key)
