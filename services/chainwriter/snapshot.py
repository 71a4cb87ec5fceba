"""The chain writer's state on local disk, one file per partition of `assist.chain`, tied to the
offset it covers: a start reads only the records appended after it, not the whole chain.

What the chain writer needs of the chain is each household's head (sequence, hash) and the
ids of every event chained (a repeat is dropped). Everything of a household is in one
partition, so each partition's file holds its households' heads and its events' ids, the
offset where reading goes on, and the last record the file covers (its offset and hash). A
file is used only when that record is still on the chain, at that offset, with that hash, and
the file was made for the same topic and writing key: a chain recreated, cut or rewritten, or
a key rotated, makes the start read the partition from its beginning, as without a file.

A file is written when a start has read its partition to the end, every minute for the
partitions whose chains grew, and at a clean stop. What it holds is committed appends only:
the writer's kept state takes an append when its transaction has committed, at the offset the
send reported (its own state also holds appends whose transaction may yet abort, so that is
never what is written). A crash loses at most the last minute's files: the next start reads
the records after the files it finds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events.chain import ChainHead
from services.runtime.local_files import replace_atomically

FORMAT = 1


@dataclass
class PartitionState:
    """What a partition of the chain says, as far as `next_offset`."""

    topic: str
    partition: int
    key_id: str  # the writing key whose signatures the records were taken on
    next_offset: int = 0
    last: tuple[int, str] | None = None  # offset and hash of the last record taken
    heads: dict[str, ChainHead] = field(default_factory=dict)
    chained: list[uuid.UUID] = field(default_factory=list)


def file_of(directory: Path, topic: str, partition: int) -> Path:
    return directory / f"{topic}-{partition}.heads.json"


def write(directory: Path, state: PartitionState) -> None:
    """Replace the partition's file at once (a crash leaves the old one or the new one)."""
    document = {
        "format": FORMAT,
        "topic": state.topic,
        "partition": state.partition,
        "key_id": state.key_id,
        "next_offset": state.next_offset,
        "last": list(state.last) if state.last is not None else None,
        "heads": {h: [head.sequence, head.hash] for h, head in state.heads.items()},
        "chained": [event_id.hex for event_id in state.chained],
    }
    encoded = json.dumps(document, separators=(",", ":")).encode()
    replace_atomically(file_of(directory, state.topic, state.partition), encoded)


def read(directory: Path, topic: str, partition: int, key_id: str) -> PartitionState | None:
    """The partition's file, or None when there is none, it cannot be read, or it was made for
    another topic or key (the caller then reads the partition from its beginning)."""
    path = file_of(directory, topic, partition)
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if (document["format"], document["topic"], document["partition"], document["key_id"]) != (
            FORMAT,
            topic,
            partition,
            key_id,
        ):
            return None
        last = document["last"]
        return PartitionState(
            topic,
            partition,
            key_id,
            next_offset=int(document["next_offset"]),
            last=(int(last[0]), str(last[1])) if last is not None else None,
            heads={h: ChainHead(int(s), str(d)) for h, (s, d) in document["heads"].items()},
            chained=[uuid.UUID(hex=i) for i in document["chained"]],
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
