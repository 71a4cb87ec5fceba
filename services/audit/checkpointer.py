"""Signing and publishing checkpoints (and the tree head that goes with each) off the event loop.

Hashing and signing every head costs about a second per 100,000 households; done on the event
loop it would stall every HTTP read meanwhile. So the indexer only takes a snapshot of the heads
(a dict copy, milliseconds) and hands it here; the Merkle tree, the signature and the messages
are built in a worker thread (leaves of unchanged chains are reused from the last time), and
the parts are published to `assist.checkpoints`, acknowledged by every in-sync replica.

The tree heads signed and the witnesses' co-signatures are read back from that topic at start
(domain/tree_head_book.py). Every tree head must extend the last one signed: if the log as read
now does not (rewritten or cut behind the audit's back), nothing new is signed, the error is
logged at every checkpoint due, /healthz says so and a gauge is 1, until the log extends it
again or an operator accepts the change (ASSIST_AUDIT_ACCEPT_CONTRADICTED_TREE_HEAD).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaProducer
from prometheus_client import Gauge

from events.audit import AnyTreeHead, Checkpoint, CheckpointHead, TreeHeadWitnessed
from events.canonical import canonical_json
from services.audit.domain.checkpoint import make_checkpoint, split
from services.audit.domain.log_tree import LogTree
from services.audit.domain.merkle import LeafCache
from services.audit.domain.tree_head import log_problems, make_tree_head
from services.audit.domain.tree_head_book import (
    CHECKPOINT_KEY,
    TREE_HEAD_KEY,
    WITNESS_KEY,
    BookRestore,
    TreeHeadBook,
)
from services.runtime.kafka import ConsumerRecord, make_consumer, make_producer, read_to_end
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings
from services.runtime.signing_keys import SigningKey

log = get_logger()
KEPT_TREE_HEADS = 10_000  # about 1 KB each: the last week at one a minute

CONTRADICTED = Gauge(
    "assist_audit_tree_head_contradicted",
    "1 while the chain log as read does not extend the last signed tree head (nothing is signed)",
)


@dataclass(frozen=True)
class HeadsSnapshot:
    """Every chain's (length, head hash) and the log positions they were folded up to."""

    heads: dict[str, tuple[int, str]]
    positions: dict[int, int]
    taken_at: datetime
    # partition -> (size, root) of the Merkle tree over its records, for the tree head
    trees: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    # The live trees themselves (not copies): read in `submit`, on the loop, to check that
    # they extend the last tree head signed (O(log n) hashes a partition); never off the loop.
    logs: Mapping[int, LogTree] = field(default_factory=dict)


class Checkpointer:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        chain_topic: str,
        key: SigningKey,
        heads_per_part: int,
        kept_tree_heads: int = KEPT_TREE_HEADS,
        accept_contradicted: uuid.UUID | None = None,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._chain_topic = chain_topic
        self._key = key
        self._heads_per_part = heads_per_part
        self._accept_contradicted = accept_contradicted
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._leaves: LeafCache = {}
        self.latest: Checkpoint | None = None
        self.book = TreeHeadBook(kept_tree_heads)
        # What says the log as read does not extend the last tree head signed (empty: it does).
        self.contradiction: list[str] = []
        CONTRADICTED.set(0)

    @property
    def latest_tree_head(self) -> AnyTreeHead | None:
        return self.book.latest

    @property
    def tree_heads(self) -> Mapping[uuid.UUID, AnyTreeHead]:
        return self.book.heads

    @property
    def witnesses(self) -> Mapping[uuid.UUID, list[TreeHeadWitnessed]]:
        return self.book.witnesses

    def problems(self) -> list[str]:
        """For /healthz: why the audit signs nothing new, if it does not."""
        if not self.contradiction:
            return []
        latest = self.book.latest
        return [
            f"the chain log does not extend tree head {latest.tree_head_id if latest else '?'}, "
            f"the last signed: {problem}"
            for problem in self.contradiction
        ]

    async def start(self) -> None:
        await self.restore()
        self._producer = make_producer(self._kafka)
        await self._producer.start()

    async def restore(self) -> None:
        """Read the tree heads and co-signatures of `assist.checkpoints` back into the book:
        every committed record from the beginning to the end as of now."""
        restore = BookRestore(self.book, self._key.public, self._chain_topic)

        def take(record: ConsumerRecord) -> None:
            restore.take(record.offset, record.key, record.value)

        records = await self._read_back(take)
        if restore.missing:
            # Co-signatures read after their tree heads were forgotten (a topic of several
            # partitions): one more reading picks up just those heads.
            log.info(
                "reading tree heads back again for their witnesses", heads=len(restore.missing)
            )

            def take_missing(record: ConsumerRecord) -> None:
                restore.take_missing(record.offset, record.key, record.value)

            await self._read_back(take_missing)
        report = restore.finish()
        for reason, count in sorted(report.skipped.items()):
            log.warning(
                "record of the checkpoints topic skipped",
                reason=reason,
                records=count,
                first=report.first_skipped[reason],
            )
        latest = self.book.latest
        log.info(
            "tree heads read back",
            records=records,
            tree_heads=report.tree_heads,
            witnesses=report.witnesses,
            checkpoint_parts=report.checkpoint_parts,
            skipped=sum(report.skipped.values()),
            latest_tree_head_id=str(latest.tree_head_id) if latest else None,
        )

    async def _read_back(self, take: Callable[[ConsumerRecord], None]) -> int:
        consumer = make_consumer(self._kafka, group_id=None)
        await consumer.start()
        try:
            return await read_to_end(consumer, self._topic, take)
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task], timeout=30)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def submit(self, snapshot: HeadsSnapshot) -> bool:
        """Start signing and publishing `snapshot`; False while the previous one is under way.

        True also when nothing is signed because the log does not extend the last tree head:
        the indexer then offers the next snapshot when the next checkpoint is due."""
        if self._producer is None or (self._task is not None and not self._task.done()):
            return False
        if not self._extends_last(snapshot):
            return True
        self._task = asyncio.get_running_loop().create_task(self._publish(snapshot))
        return True

    def _extends_last(self, snapshot: HeadsSnapshot) -> bool:
        """Whether the snapshot's trees extend the last tree head signed, or the operator
        accepted that they do not; logs and shows the contradiction otherwise."""
        latest = self.book.latest
        self.contradiction = log_problems(latest, snapshot.logs) if latest is not None else []
        CONTRADICTED.set(1 if self.contradiction else 0)
        if latest is None or not self.contradiction:
            return True
        if latest.tree_head_id == self._accept_contradicted:
            log.warning(
                "the chain log does not extend the last tree head signed; accepted by the "
                "operator (ASSIST_AUDIT_ACCEPT_CONTRADICTED_TREE_HEAD): signing the log as it is",
                tree_head_id=str(latest.tree_head_id),
                problems=self.contradiction,
            )
            return True
        log.error(
            "the chain log does not extend the last tree head signed: rewritten or cut behind "
            "the audit's back; nothing new is signed",
            tree_head_id=str(latest.tree_head_id),
            problems=self.contradiction,
            accept_with=f"ASSIST_AUDIT_ACCEPT_CONTRADICTED_TREE_HEAD={latest.tree_head_id}",
        )
        return False

    async def _publish(self, snapshot: HeadsSnapshot) -> None:
        try:
            checkpoint, messages = await asyncio.to_thread(self._sign, snapshot)
            tree_head = make_tree_head(
                snapshot.trees,
                key=self._key.private,
                created_at=snapshot.taken_at,
                chain_topic=self._chain_topic,
            )
            producer = self._producer
            if producer is None:
                return
            sent = [
                await producer.send(self._topic, message, key=CHECKPOINT_KEY)
                for message in messages
            ]
            sent.append(
                await producer.send(
                    self._topic,
                    canonical_json(tree_head.model_dump(mode="json")),
                    key=TREE_HEAD_KEY,
                )
            )
            for delivery in sent:
                await delivery
        except Exception as error:  # noqa: BLE001 - the next checkpoint will be tried anyway
            log.error("checkpoint not published", error=f"{type(error).__name__}: {error}")
            return
        self.latest = checkpoint
        self.book.add_head(tree_head)
        self.contradiction = []
        CONTRADICTED.set(0)
        log.info(
            "tree head published",
            tree_head_id=str(tree_head.tree_head_id),
            forest_root=tree_head.forest_root,
            trees={str(t.partition): f"{t.size} {t.root[:16]}" for t in tree_head.trees},
            key_id=tree_head.key_id,
        )
        log.info(
            "checkpoint published",
            checkpoint_id=str(checkpoint.checkpoint_id),
            households=checkpoint.households,
            events=checkpoint.events,
            merkle_root=checkpoint.merkle_root,
            key_id=checkpoint.key_id,
            parts=len(messages),
        )

    async def add_witness(self, witnessed: TreeHeadWitnessed) -> TreeHeadWitnessed:
        """Publish a witness's co-signature (checked by the caller) and keep it with its tree
        head; a witness that co-signed the same tree head before gets its first answer back."""
        earlier = self.book.witness_of(witnessed.tree_head_id, witnessed.witness_key_id)
        if earlier is not None:
            return earlier
        producer = self._producer
        if producer is None:
            raise RuntimeError("the audit service is stopping")
        message = canonical_json(witnessed.model_dump(mode="json"))
        with self.book.holding(witnessed.tree_head_id):
            await (await producer.send(self._topic, message, key=WITNESS_KEY))
            kept = self.book.add_witness(witnessed)
        log.info(
            "tree head witnessed",
            tree_head_id=str(witnessed.tree_head_id),
            witness_key_id=witnessed.witness_key_id,
            user=witnessed.witnessed_by,
        )
        return kept or witnessed

    def _sign(self, snapshot: HeadsSnapshot) -> tuple[Checkpoint, list[bytes]]:
        # Runs in a worker thread, on the snapshot only; the leaf cache is this thread's alone,
        # since one checkpoint at most is under way.
        heads = [
            CheckpointHead.model_construct(
                household_id=household_id, length=length, head_hash=head_hash
            )
            for household_id, (length, head_hash) in snapshot.heads.items()
        ]
        checkpoint = make_checkpoint(
            heads,
            key=self._key.private,
            created_at=snapshot.taken_at,
            chain_topic=self._chain_topic,
            positions=snapshot.positions,
            leaf_cache=self._leaves,
        )
        messages = [
            canonical_json(part.model_dump(mode="json"))
            for part in split(checkpoint, self._heads_per_part)
        ]
        return checkpoint, messages
