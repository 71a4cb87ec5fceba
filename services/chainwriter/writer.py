"""The chain writer: the one owner of every household's order.

It takes proposed events from `assist.events`, drops any event_id it has already chained,
and appends the rest to `assist.chain` with the next sequence and the hash link, each signed
with its own key in a record header (services/runtime/writer_signature.py). A chained
referral event (issued, amended, withdrawn, overdue) also goes, the same bytes, to its
department's topic `assist.referrals.<department>`: in the same transaction, so a department
receives each exactly once, and a hop sooner than if another processor copied it from the chain.
Its state (each chain's head and every chained event_id) is rebuilt from `assist.chain`
itself at start (each partition from a file on local disk and the records after it,
snapshot.py), and chained events are committed in the same transaction as the consumed
offsets, so a crash at any point neither loses an event nor writes one twice. The files are
kept up to date from where its committed appends landed: every minute for the partitions that
changed, and at a clean stop, so a restart reads only what was appended since.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.topics import TopicNames
from events.chain import ChainHead, linked_bytes
from events.codec import DecodeError, decode_event
from events.referral import ReferralAmended, ReferralIssued, ReferralOverdue, ReferralWithdrawn
from services.chainwriter import snapshot
from services.runtime import metrics
from services.runtime.kafka import ConsumerRecord, partitions_of, read_to_end
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.partition_tasks import TaskAssignment
from services.runtime.peek import event_type_header
from services.runtime.processor import Landed
from services.runtime.writer_signature import sign_record, signed_by_writer

log = get_logger()
# How often the partitions whose chains grew are written to disk (and at every clean stop).
KEEP_SECONDS = 60.0
FOR_DEPARTMENTS = (ReferralIssued, ReferralAmended, ReferralWithdrawn, ReferralOverdue)


class ChainWriter:
    """Sequencing and hash-linking, with de-duplication on event_id."""

    service = "chainwriter"

    def __init__(
        self,
        topics: TopicNames,
        key: Ed25519PrivateKey | None = None,
        snapshots: Path | None = None,
    ) -> None:
        self.topics = topics
        self.heads: dict[str, ChainHead] = {}
        self.chained: set[uuid.UUID] = set()
        # Signs every append (services/runtime/writer_signature.py); without a key (tests of
        # the ordering alone) appends go unsigned and every record on the chain is taken.
        self._key = key
        # Where each partition's heads and ids are kept between starts (snapshot.py); without
        # it every start reads the whole chain.
        self._snapshots = snapshots
        self.records_read_at_start = 0
        # Each partition's committed heads and ids, as its file holds them: changed only by
        # appends whose transaction committed (`committed`), so it can be written at any time.
        self._kept: dict[int, snapshot.PartitionState] = {}
        self._changed: set[int] = set()
        self._kept_at = time.monotonic()
        # Appends sent and not yet known committed, by their bytes: household, id, new head.
        self._appending: dict[bytes, tuple[str, uuid.UUID, ChainHead]] = {}

    def observe_chained(
        self, document: dict[str, object], headers: Iterable[tuple[str, bytes]] = ()
    ) -> bool:
        """Fold one event already on the chain into the heads and the seen ids; a record this
        writer did not sign (written to the topic by someone else) is not its own: ignored
        (False)."""
        if self._key is not None and not signed_by_writer(
            self._key.public_key(), str(document.get("hash")), headers
        ):
            log.warning(
                "record on the chain not appended by the chain writer: ignored",
                household_id=str(document.get("household_id")),
                sequence=document.get("sequence"),
            )
            return False
        household = str(document["household_id"])
        self.heads[household] = ChainHead(int(str(document["sequence"])), str(document["hash"]))
        self.chained.add(uuid.UUID(str(document["event_id"])))
        return True

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if event.household_id is None:
            raise Rejected("household_id: required for an event of a household's chain")
        if event.sequence is not None or event.hash is not None:
            raise Rejected("sequence: only the chain writer sets sequence and hashes")
        if event.event_id in self.chained:
            metrics.DUPLICATES.labels(self.service).inc()
            log.info(
                "duplicate event dropped",
                event_id=str(event.event_id),
                household_id=event.household_id,
                event_type=event.event_type.value,
            )
            return []
        head = self.heads.get(event.household_id, ChainHead())
        sequence = head.sequence + 1
        value, digest = linked_bytes(event, sequence, head.hash)
        self.heads[event.household_id] = ChainHead(sequence, digest)
        self.chained.add(event.event_id)
        log.info(
            "event chained",
            household_id=event.household_id,
            sequence=sequence,
            event_type=event.event_type.value,
            correlation_id=str(event.correlation_id),
            producer=event.producer,
        )
        label = event.event_type.value
        signature = (sign_record(self._key, digest),) if self._key is not None else ()
        headers = (event_type_header(label), *signature)
        chained = [Outbound(self.topics.chain, event.key, value, label, headers)]
        if self._snapshots is not None:
            self._appending[value] = (
                event.household_id,
                event.event_id,
                ChainHead(sequence, digest),
            )
        if isinstance(event.payload, FOR_DEPARTMENTS):
            department = self.topics.referrals(event.payload.department)
            chained.append(Outbound(department, event.key, value, label, headers))
        return chained

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def committed(self, landed: Sequence[Landed]) -> None:
        """Appends whose transaction committed, into their partitions' kept state (the runtime
        calls this with where each landed); a minute after the last write, written out."""
        for sent in landed:
            if sent.out.topic != self.topics.chain:
                continue
            appended = self._appending.pop(sent.out.value, None)
            state = self._kept.get(sent.partition)
            if appended is None or state is None:
                continue
            household, event_id, head = appended
            state.heads[household] = head
            state.chained.append(event_id)
            state.last = (sent.offset, head.hash)
            state.next_offset = sent.offset + 1  # past it: a commit marker or the next record
            self._changed.add(sent.partition)
        if time.monotonic() - self._kept_at >= KEEP_SECONDS:
            self._write_changed()

    def stopping(self) -> None:
        """A clean stop: the partitions that grew since the last write, written now."""
        self._write_changed()

    def _write_changed(self) -> None:
        self._kept_at = time.monotonic()
        if self._snapshots is None:
            return
        for partition in sorted(self._changed):
            try:
                snapshot.write(self._snapshots, self._kept[partition])
            except OSError as error:  # a full or failing disk costs a longer start, no more
                log.warning(
                    "chain heads not kept on disk: the next start reads more of the chain",
                    partition=partition,
                    error=str(error),
                )
                return  # the partitions left are tried again at the next write
            self._changed.discard(partition)

    async def bootstrap(
        self,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        assignment: TaskAssignment | None = None,
    ) -> None:
        """Rebuild the heads and the seen ids from `assist.chain` (committed transactions only):
        each partition from its file on disk and the records after it, or from its beginning;
        then keep what was read, for the next start (snapshot.py). Scaled out, only the
        partitions of this instance's tasks: its households' chains are there and nowhere else.
        """
        consumer = consumer_factory()
        await consumer.start()
        try:
            partitions = [
                tp
                for tp in await partitions_of(consumer, self.topics.chain)
                if assignment is None or assignment.owns(tp.partition)
            ]
            beginnings = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            kept = {
                tp.partition: await self._kept_state(consumer, tp, beginnings[tp], ends[tp])
                for tp in partitions
            }
            restored = sum(len(state.chained) for state in kept.values())
            starts = {tp: kept[tp.partition].next_offset for tp in partitions}
            read = await read_to_end(
                consumer,
                self.topics.chain,
                lambda record: self._fold_read(record, kept[record.partition]),
                starts=starts,
                ends=ends,
                partitions=partitions,
            )
            for tp in partitions:
                state = kept[tp.partition]
                state.next_offset = ends[tp]
                if self._snapshots is not None and state.last is not None:
                    snapshot.write(self._snapshots, state)
            self._kept = kept
            self.records_read_at_start = read
            log.info(
                "chain heads rebuilt",
                events=read + restored,
                read=read,
                from_disk=restored,
                households=len(self.heads),
            )
        finally:
            await consumer.stop()

    @property
    def _key_id(self) -> str:
        if self._key is None:
            return "unsigned"
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    async def _kept_state(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, beginning: int, end: int
    ) -> snapshot.PartitionState:
        """The partition's file when it still describes the chain (its last record there, at
        its offset, with its hash), folded in; else an empty state from the beginning."""
        fresh = snapshot.PartitionState(tp.topic, tp.partition, self._key_id, beginning)
        if self._snapshots is None:
            return fresh
        kept = snapshot.read(self._snapshots, tp.topic, tp.partition, self._key_id)
        if kept is None or kept.last is None:
            return fresh
        offset, digest = kept.last
        if not beginning <= offset < kept.next_offset <= end or (
            await _hash_at(consumer, tp, offset) != digest
        ):
            log.warning(
                "kept chain heads do not match the chain: reading the partition in full",
                partition=f"{tp.topic}/{tp.partition}",
            )
            return fresh
        self.heads.update(kept.heads)
        self.chained.update(kept.chained)
        return kept

    def _fold_read(self, record: ConsumerRecord, state: snapshot.PartitionState) -> None:
        """One record read at start, into the writer and into its partition's kept state."""
        document = json.loads(record.value)
        if self.observe_chained(document, record.headers or ()):
            household = str(document["household_id"])
            state.heads[household] = self.heads[household]
            state.chained.append(uuid.UUID(str(document["event_id"])))
        state.last = (record.offset, str(document.get("hash")))


async def _hash_at(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> str | None:
    """The hash of the record at `offset`, or None when no committed record is there."""
    consumer.assign([tp])
    consumer.seek(tp, offset)
    for _ in range(20):
        records = (await consumer.getmany(tp, timeout_ms=500, max_records=1)).get(tp, [])
        if records:
            first = records[0]
            if first.offset != offset:
                return None
            return str(json.loads(first.value).get("hash"))
    return None
