"""A processor's state on local disk, one file per input partition, tied to the offset it
covers: a start restores each partition's file and replays only the records after it.

A handler that keeps state this way (`KeepsState`) says which input its state is partitioned
by and turns one partition's part of its state into bytes and back. The runtime writes a
partition's file only when everything handled is committed, so the file is exactly the state
the committed outputs came from, and with it the offset to go on from and a digest of the last
record it covers. A file is used only when that record is still there, with that digest, the
offset is not past what is committed, and the state's shape (`state_schema`) is the one the
code has now: a topic recreated, a file from another build, or one ahead of the committed
offsets (written by a bug) makes the start replay the partition from its beginning, as without.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import TypeAdapter

from services.runtime.kafka import ConsumerRecord
from services.runtime.local_files import replace_atomically
from services.runtime.logging import get_logger

log = get_logger()
FORMAT = 1


def schema_id(shape: TypeAdapter[Any], version: int) -> str:
    """A handler's `state_schema`: a digest of the JSON schema of what it keeps and of a version
    it bumps by hand when what a field means changes (a change of shape changes it alone)."""
    document = json.dumps([version, shape.json_schema()], sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest()[:16]


class PartitionMembers:
    """The keys (households, visits) a handler holds of each partition of its state topic: what
    it dumps of one partition, without a scan of everything it holds."""

    def __init__(self) -> None:
        self._of: dict[int, set[str]] = {}

    def add(self, partition: int, key: str) -> None:
        self._of.setdefault(partition, set()).add(key)

    def update(self, partition: int, *keys: Iterable[str]) -> None:
        self._of.setdefault(partition, set()).update(*keys)

    def of(self, partition: int) -> list[str]:
        return sorted(self._of.get(partition, ()))


@runtime_checkable
class KeepsState(Protocol):
    """A handler whose state is kept on disk by partition of `state_topic`."""

    state_topic: str
    # Changes whenever the shape of what dump_partition writes changes (a hash of its schema).
    state_schema: str

    def dump_partition(self, partition: int) -> bytes:
        """This partition's part of the state."""

    def load_partition(self, partition: int, data: bytes) -> None:
        """Take in a partition's part, as dump_partition gave it."""


@dataclass(frozen=True)
class Kept:
    offset: int  # the next record to handle
    last_offset: int  # the last record the state covers
    last_digest: str  # SHA-256 of its key and value
    data: bytes


def record_digest(key: bytes | None, value: bytes | None) -> str:
    digest = hashlib.sha256()
    for part in (key or b"", value or b""):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class StateFiles:
    """`<directory>/<topic>-<partition>.state`: a JSON line of what the file covers, then the
    state's bytes."""

    def __init__(self, directory: Path, schema: str) -> None:
        self.directory = directory
        self.schema = schema

    def path(self, topic: str, partition: int) -> Path:
        return self.directory / f"{topic}-{partition}.state"

    def write(self, topic: str, partition: int, kept: Kept) -> None:
        """Replace the file at once (a crash leaves the old one or the new one)."""
        about = {
            "format": FORMAT,
            "topic": topic,
            "partition": partition,
            "schema": self.schema,
            "offset": kept.offset,
            "last_offset": kept.last_offset,
            "last_digest": kept.last_digest,
            "data_sha256": hashlib.sha256(kept.data).hexdigest(),
        }
        header = json.dumps(about, separators=(",", ":")).encode() + b"\n"
        replace_atomically(self.path(topic, partition), header, kept.data)

    def read(self, topic: str, partition: int) -> Kept | None:
        """The partition's file, or None when there is none, it cannot be read, or it was made
        for another topic or another shape of state."""
        path = self.path(topic, partition)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("kept state unreadable", file=str(path), error=str(error))
            return None
        head, _, data = raw.partition(b"\n")
        try:
            about: dict[str, Any] = json.loads(head)
            matches = (about["format"], about["topic"], about["partition"], about["schema"]) == (
                FORMAT,
                topic,
                partition,
                self.schema,
            )
            whole = about["data_sha256"] == hashlib.sha256(data).hexdigest()
            if not matches or not whole:
                log.warning(
                    "kept state not used: "
                    + ("made for another state" if not matches else "damaged"),
                    file=str(path),
                )
                return None
            return Kept(
                int(about["offset"]), int(about["last_offset"]), str(about["last_digest"]), data
            )
        except (ValueError, KeyError, TypeError) as error:
            log.warning("kept state unreadable", file=str(path), error=str(error))
            return None


class PartitionKeeper:
    """One run's kept state: restores what the files hold at its start, notes what it handles,
    and writes the partitions that changed, every `every_seconds` and at a clean stop."""

    def __init__(
        self, directory: Path, handler: KeepsState, every_seconds: float, processor: str
    ) -> None:
        self.files = StateFiles(directory, handler.state_schema)
        self.handler = handler
        self.every_seconds = every_seconds
        self.processor = processor
        self._last: dict[TopicPartition, tuple[int, str]] = {}  # last record handled
        self._changed: set[TopicPartition] = set()
        self._kept_at = time.monotonic()
        self.restored = 0  # partitions restored from their files at the start

    async def restore(
        self,
        consumer: AIOKafkaConsumer,
        committed: dict[TopicPartition, int],
        new_consumer: Callable[[], AIOKafkaConsumer],
    ) -> None:
        """Each partition of the state's topic whose file still matches its input: its state
        taken in and the consumer moved past what the file covers."""
        mine = [tp for tp in committed if tp.topic == self.handler.state_topic]
        found = {tp: kept for tp in mine if (kept := self.files.read(tp.topic, tp.partition))}
        reader: AIOKafkaConsumer | None = None
        try:
            for tp, kept in found.items():
                why = _past_committed(kept, committed[tp])
                if why is None:
                    if reader is None:
                        reader = new_consumer()
                        await reader.start()
                    why = await _record_differs(reader, tp, kept)
                if why is not None:
                    log.warning(
                        "kept state not used: replaying the partition",
                        processor=self.processor,
                        partition=f"{tp.topic}/{tp.partition}",
                        reason=why,
                    )
                    continue
                self.handler.load_partition(tp.partition, kept.data)
                consumer.seek(tp, kept.offset)
                self._last[tp] = (kept.last_offset, kept.last_digest)
                self.restored += 1
        finally:
            if reader is not None:
                await asyncio.sleep(0)  # aiokafka: a task it started must run before its stop
                await reader.stop()
        if found:
            log.info(
                "kept state restored",
                processor=self.processor,
                partitions=self.restored,
                of=len(mine),
            )

    def handled(self, tp: TopicPartition, records: Sequence[ConsumerRecord]) -> None:
        if tp.topic == self.handler.state_topic and records:
            last = records[-1]
            self._last[tp] = (last.offset, record_digest(last.key, last.value))
            self._changed.add(tp)

    def keep(self, positions: dict[TopicPartition, int], due_only: bool = True) -> None:
        """Write the changed partitions' files, covering up to `positions`: call it only when
        everything handled is committed."""
        if due_only and time.monotonic() - self._kept_at < self.every_seconds:
            return
        self._kept_at = time.monotonic()
        written, failed = 0, set()
        for tp in sorted(self._changed):
            if tp not in positions or tp not in self._last:
                continue
            last_offset, digest = self._last[tp]
            data = self.handler.dump_partition(tp.partition)
            try:
                kept = Kept(positions[tp], last_offset, digest, data)
                self.files.write(tp.topic, tp.partition, kept)
            except OSError as error:  # a full or failing disk costs a longer start, no more
                log.warning(
                    "state not kept on disk: the next start replays more",
                    processor=self.processor,
                    partition=f"{tp.topic}/{tp.partition}",
                    error=str(error),
                )
                failed.add(tp)
                continue
            written += 1
        self._changed = failed  # tried again at the next write
        if written:
            log.info("state kept on disk", processor=self.processor, partitions=written)


def _past_committed(kept: Kept, committed: int) -> str | None:
    """A file covers only committed records: one covering more was not written by this code.
    (Its offset may be past the committed one by the transaction's marker alone.)"""
    if kept.last_offset >= committed:
        return f"it covers the record at offset {kept.last_offset}, not committed ({committed})"
    return None


async def _record_differs(reader: AIOKafkaConsumer, tp: TopicPartition, kept: Kept) -> str | None:
    """Why the last record the file covers is not the one at its offset (None: it is)."""
    reader.assign([tp])
    reader.seek(tp, kept.last_offset)
    batch = await reader.getmany(tp, timeout_ms=10_000, max_records=1)
    records = batch.get(tp, [])
    if not records or records[0].offset != kept.last_offset:
        return f"the record at offset {kept.last_offset} it covers is gone"
    if record_digest(records[0].key, records[0].value) != kept.last_digest:
        return f"the record at offset {kept.last_offset} is not the one it covers"
    return None
