"""The chain writer's kept heads: what is written is read back, and nothing else is taken."""

from __future__ import annotations

import uuid
from pathlib import Path

from events.chain import ChainHead
from services.chainwriter import snapshot


def _state() -> snapshot.PartitionState:
    return snapshot.PartitionState(
        "ns.assist.chain",
        2,
        "k1",
        next_offset=41,
        last=(39, "ab" * 32),
        heads={"HH-1": ChainHead(3, "cd" * 32), "HH-2": ChainHead(1, "ef" * 32)},
        chained=[uuid.uuid4(), uuid.uuid4()],
    )


def test_what_is_kept_is_read_back(tmp_path: Path) -> None:
    kept = _state()
    snapshot.write(tmp_path, kept)
    assert snapshot.read(tmp_path, "ns.assist.chain", 2, "k1") == kept
    assert not list(tmp_path.glob("*.partial"))  # written whole, then renamed


def test_another_topic_partition_or_key_finds_nothing(tmp_path: Path) -> None:
    snapshot.write(tmp_path, _state())
    assert snapshot.read(tmp_path, "ns.assist.chain", 1, "k1") is None
    assert snapshot.read(tmp_path, "other.assist.chain", 2, "k1") is None
    assert snapshot.read(tmp_path, "ns.assist.chain", 2, "a rotated key") is None


def test_a_damaged_file_is_not_taken(tmp_path: Path) -> None:
    snapshot.write(tmp_path, _state())
    path = snapshot.file_of(tmp_path, "ns.assist.chain", 2)
    path.write_text(path.read_text()[:-20])
    assert snapshot.read(tmp_path, "ns.assist.chain", 2, "k1") is None
    path.write_text('{"format": 1}')
    assert snapshot.read(tmp_path, "ns.assist.chain", 2, "k1") is None
