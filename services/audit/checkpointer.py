"""Signing and publishing checkpoints (and the tree head that goes with each) off the event loop.

Hashing and signing every head costs about a second per 100,000 households; done on the event
loop it would stall every HTTP read meanwhile. So the indexer only takes a snapshot of the heads
(a dict copy, milliseconds) and hands it here; the Merkle tree, the signature and the messages
are built in a worker thread (leaves of unchanged chains are reused from the last time), and
the parts are published to `assist.checkpoints`, acknowledged by every in-sync replica.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaProducer

from events.audit import Checkpoint, CheckpointHead, TreeHead, TreeHeadWitnessed
from events.canonical import canonical_json
from services.audit.domain.checkpoint import make_checkpoint, split
from services.audit.domain.merkle import LeafCache
from services.audit.domain.tree_head import make_tree_head
from services.audit.keys import SigningKey
from services.runtime.kafka import make_producer
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings

log = get_logger()
CHECKPOINT_KEY = b"checkpoint"
TREE_HEAD_KEY = b"tree-head"
WITNESS_KEY = b"witness"
KEPT_TREE_HEADS = 10_000  # about 1 KB each: the last week at one a minute


@dataclass(frozen=True)
class HeadsSnapshot:
    """Every chain's (length, head hash) and the log positions they were folded up to."""

    heads: dict[str, tuple[int, str]]
    positions: dict[int, int]
    taken_at: datetime
    # partition -> (size, root) of the Merkle tree over its records, for the tree head
    trees: dict[int, tuple[int, bytes]] = field(default_factory=dict)


class Checkpointer:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        chain_topic: str,
        key: SigningKey,
        heads_per_part: int,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._chain_topic = chain_topic
        self._key = key
        self._heads_per_part = heads_per_part
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._leaves: LeafCache = {}
        self.latest: Checkpoint | None = None
        self.latest_tree_head: TreeHead | None = None
        # Tree heads signed since the start (newest last, bounded) and their witnesses.
        self.tree_heads: OrderedDict[uuid.UUID, TreeHead] = OrderedDict()
        self.witnesses: dict[uuid.UUID, list[TreeHeadWitnessed]] = {}

    async def start(self) -> None:
        self._producer = make_producer(self._kafka)
        await self._producer.start()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task], timeout=30)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def submit(self, snapshot: HeadsSnapshot) -> bool:
        """Start signing and publishing `snapshot`; False while the previous one is under way."""
        if self._producer is None or (self._task is not None and not self._task.done()):
            return False
        self._task = asyncio.get_running_loop().create_task(self._publish(snapshot))
        return True

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
        self.latest, self.latest_tree_head = checkpoint, tree_head
        self.tree_heads[tree_head.tree_head_id] = tree_head
        while len(self.tree_heads) > KEPT_TREE_HEADS:
            dropped, _ = self.tree_heads.popitem(last=False)
            self.witnesses.pop(dropped, None)
        log.info(
            "tree head published",
            tree_head_id=str(tree_head.tree_head_id),
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
        kept = self.witnesses.setdefault(witnessed.tree_head_id, [])
        earlier = next((w for w in kept if w.witness_key_id == witnessed.witness_key_id), None)
        if earlier is not None:
            return earlier
        producer = self._producer
        if producer is None:
            raise RuntimeError("the audit service is stopping")
        message = canonical_json(witnessed.model_dump(mode="json"))
        await (await producer.send(self._topic, message, key=WITNESS_KEY))
        kept.append(witnessed)
        log.info(
            "tree head witnessed",
            tree_head_id=str(witnessed.tree_head_id),
            witness_key_id=witnessed.witness_key_id,
            user=witnessed.witnessed_by,
        )
        return witnessed

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
