"""The audit's projection of `assist.chain`: where each household's events are, and its head.

For every household the index keeps the partition and the offsets of its records (8 bytes an
event), so reading one chain never scans the log: it is at most one targeted fetch per event.
The stored bytes of recently written or read chains are also kept, within a byte budget, so a
hot chain is read from memory. Folding is idempotent by position, so two readers of the log can
feed the same index and a rebuilt index can take over from a live one without a gap.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.audit import CheckpointHead
from services.audit.domain.log_tree import LogTree
from services.audit.domain.records import parse_record, stored_hash
from services.audit.domain.tree_head import record_leaf, unfiled_record_hash
from services.runtime.writer_signature import HEADER as SIGNATURE_HEADER
from services.runtime.writer_signature import signed_by_writer

_NO_SIGNATURE = bytes(64)
_HOUSEHOLD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class HouseholdEntry:
    """Where one household's chain is in the log."""

    __slots__ = ("partition", "offsets", "partitions")

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.offsets: array[int] = array("q")
        # Only when a record of this household was written to another partition than its
        # first (a producer choosing partitions by hand): then each record's partition is kept.
        self.partitions: array[int] | None = None

    @property
    def length(self) -> int:
        return len(self.offsets)

    def add(self, partition: int, offset: int) -> None:
        if self.partitions is None and partition != self.partition:
            self.partitions = array("h", [self.partition] * len(self.offsets))
        if self.partitions is not None:
            self.partitions.append(partition)
        self.offsets.append(offset)

    def positions(self) -> list[tuple[int, int]]:
        """(partition, offset) of every record of the chain, in log order."""
        if self.partitions is None:
            return [(self.partition, offset) for offset in self.offsets]
        return list(zip(self.partitions, self.offsets, strict=True))


class RawCache:
    """Whole chains' stored bytes, least recently used evicted first, within `budget` bytes.

    An entry is always a household's complete chain, so a hit needs no read from the log.
    """

    def __init__(self, budget: int) -> None:
        self.budget = max(0, budget)
        self.size = 0
        self._chains: OrderedDict[str, list[bytes | None]] = OrderedDict()
        self._sizes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._chains)

    def get(self, household_id: str) -> list[bytes | None] | None:
        chain = self._chains.get(household_id)
        if chain is not None:
            self._chains.move_to_end(household_id)
        return chain

    def put(self, household_id: str, values: list[bytes | None]) -> None:
        self.discard(household_id)
        size = sum(len(v or b"") for v in values)
        if size > self.budget:
            return
        self._chains[household_id] = list(values)
        self._sizes[household_id] = size
        self.size += size
        self._evict()

    def append(self, household_id: str, value: bytes | None) -> None:
        """Extend a cached chain by its next record (an uncached chain stays uncached)."""
        chain = self._chains.get(household_id)
        if chain is None:
            return
        chain.append(value)
        self._sizes[household_id] += len(value or b"")
        self.size += len(value or b"")
        self._chains.move_to_end(household_id)
        self._evict()

    def discard(self, household_id: str) -> None:
        if self._chains.pop(household_id, None) is not None:
            self.size -= self._sizes.pop(household_id)

    def _evict(self) -> None:
        while self.size > self.budget and self._chains:
            household_id, _ = self._chains.popitem(last=False)
            self.size -= self._sizes.pop(household_id)


class PartitionLog:
    """The Merkle tree over every record of one chain partition, each leaf's offset (Kafka
    offsets skip transaction markers and aborted records: leaf i is the i-th committed record),
    and the chain writer's signature that came with each record (64 bytes; zeros: none).

    Signatures are kept, not checked, as the log is folded: a check costs an Ed25519 verify
    (~60 µs), five times the rest of a fold, and a replay at start would pay it for every record
    of the log. They are checked when a household's chain is read (ChainIndex.unsigned)."""

    __slots__ = ("tree", "offsets", "signatures")

    def __init__(self) -> None:
        self.tree = LogTree()
        self.offsets: array[int] = array("q")
        self.signatures = bytearray()

    def append(self, offset: int, leaf: bytes, signature: bytes | None) -> None:
        self.tree.append(leaf)
        self.offsets.append(offset)
        self.signatures += signature if signature and len(signature) == 64 else _NO_SIGNATURE

    def signature(self, leaf: int) -> bytes | None:
        found = bytes(self.signatures[leaf * 64 : leaf * 64 + 64])
        return None if found == _NO_SIGNATURE else found

    def leaf_index(self, offset: int) -> int | None:
        """The leaf of the record at `offset`, if one was folded there."""
        index = bisect_left(self.offsets, offset)
        return index if index < len(self.offsets) and self.offsets[index] == offset else None


class ChainIndex:
    """household -> (partition, offsets, head hash) for one chain topic, plus the bytes cache,
    plus the Merkle tree over each partition's records (signed in tree heads)."""

    def __init__(self, cache_bytes: int = 0, writer_key: Ed25519PublicKey | None = None) -> None:
        self.entries: dict[str, HouseholdEntry] = {}
        # household -> (length, head hash), replaced whole at every fold, so that a copy of this
        # dict is a consistent snapshot of every head (for a checkpoint signed off the loop).
        self.heads_map: dict[str, tuple[int, str]] = {}
        self.positions: dict[int, int] = {}  # partition -> next offset not yet folded
        self.events = 0
        self.unfiled = 0  # records with no usable household key: counted, never indexed
        self.cache = RawCache(cache_bytes)
        self.logs: dict[int, PartitionLog] = {}
        # The chain writer's public key: records without its signature are told apart (on
        # read). Without one (a log written by tests or tools) no record is flagged.
        self.writer_key = writer_key

    def fold(
        self,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> bool:
        """Take one record of the chain topic; False if it was folded before (same position)."""
        if offset < self.positions.get(partition, 0):
            return False
        document, _ = parse_record(value)
        household_id = household_of(key, document)
        self.fold_parsed(partition, offset, household_id, value, document, headers)
        return True

    def fold_parsed(
        self,
        partition: int,
        offset: int,
        household_id: str | None,
        value: bytes | None,
        document: dict[str, Any] | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """`fold` for a caller that has parsed the record and filed it already."""
        self.positions[partition] = max(self.positions.get(partition, 0), offset + 1)
        log = self.logs.get(partition)
        if log is None:
            log = self.logs[partition] = PartitionLog()
        signature = next((v for name, v in headers if name == SIGNATURE_HEADER), None)
        if household_id is None:
            self.unfiled += 1
            log.append(offset, record_leaf(None, 0, unfiled_record_hash(value)), signature)
            return
        entry = self.entries.get(household_id)
        if entry is None:
            entry = self.entries[household_id] = HouseholdEntry(partition)
            if self.cache.budget:
                self.cache.put(household_id, [])  # a new chain starts cached, as it is complete
        entry.add(partition, offset)
        head_hash = stored_hash(value, document)
        log.append(offset, record_leaf(household_id, entry.length, head_hash), signature)
        self.heads_map[household_id] = (entry.length, head_hash)
        self.events += 1
        self.cache.append(household_id, value)

    def covers(self, positions: Mapping[int, int]) -> bool:
        """Has this index folded everything up to `positions`?"""
        return all(self.positions.get(p, 0) >= offset for p, offset in positions.items())

    def tree_sizes(self) -> dict[int, tuple[int, bytes]]:
        """partition -> (size, root) of every partition's tree now: what a tree head signs."""
        return {p: (log.tree.size, log.tree.root()) for p, log in sorted(self.logs.items())}

    def leaves(self, household_id: str) -> list[tuple[int, int]]:
        """(partition, leaf index) of each of the household's records, in chain order."""
        entry = self.entries.get(household_id)
        if entry is None:
            return []
        found = []
        for partition, offset in entry.positions():
            index = self.logs[partition].leaf_index(offset)
            assert index is not None  # noqa: S101 - every filed record was appended as a leaf
            found.append((partition, index))
        return found

    def inclusion_proofs(
        self, household_id: str, sizes: Mapping[int, int]
    ) -> list[tuple[int, int, int, list[bytes] | None]]:
        """(partition, leaf index, tree size, inclusion proof) of each of the household's
        records, in chain order, in its partition's tree of the size `sizes` gives (0 if none);
        the proof is None for a record the tree of that size does not hold yet."""
        proofs = []
        for partition, leaf in self.leaves(household_id):
            size = sizes.get(partition, 0)
            tree = self.logs[partition].tree
            proofs.append(
                (partition, leaf, size, tree.inclusion_proof(leaf, size) if leaf < size else None)
            )
        return proofs

    def signatures(self, household_id: str, count: int | None = None) -> list[bytes | None]:
        """The chain writer's signature that came with each of the household's records (the
        first `count` of them), None where none came: served with the chain, so that an auditor
        checks them on their own side."""
        entry = self.entries.get(household_id)
        if entry is None:
            return []
        found: list[bytes | None] = []
        for partition, offset in entry.positions()[:count]:
            log = self.logs[partition]
            leaf = log.leaf_index(offset)
            found.append(log.signature(leaf) if leaf is not None else None)
        return found

    def unsigned(self, household_id: str, values: Sequence[bytes | None]) -> list[int]:
        """Places (1-based) of the household's records, as read (`values`), that the chain
        writer did not sign: written to the topic by someone else. Named by verification and
        never folded into the household's state. None without the writer's key."""
        if self.writer_key is None or household_id not in self.entries:
            return []
        places = []
        signatures = self.signatures(household_id, len(values))
        for place, (signature, value) in enumerate(zip(signatures, values, strict=False), start=1):
            document, _ = parse_record(value)
            record_hash = document.get("hash") if document else None
            headers = [(SIGNATURE_HEADER, signature)] if signature else []
            if not signed_by_writer(self.writer_key, record_hash, headers):
                places.append(place)
        return places

    def heads(self) -> list[CheckpointHead]:
        """Every household's head, sorted by household id."""
        return [
            CheckpointHead(household_id=household_id, length=length, head_hash=head_hash)
            for household_id, (length, head_hash) in sorted(self.heads_map.items())
        ]


def household_of(key: bytes | None, document: dict[str, Any] | None) -> str | None:
    """The household a record is filed under: its key, else the household_id it names."""
    # The record key is what the log files the record under (and partitions by); a forged
    # document naming another household is still filed under its key, where verification sees it.
    if key:
        try:
            household_id: object = key.decode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        household_id = document.get("household_id") if document else None
    if isinstance(household_id, str) and _HOUSEHOLD_ID.match(household_id):
        return household_id
    return None
