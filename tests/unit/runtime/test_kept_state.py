"""A processor's kept state files: what they cover, and when they are not used."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from aiokafka import TopicPartition
from pydantic import TypeAdapter

from services.runtime.kept_state import (
    Kept,
    PartitionKeeper,
    StateFiles,
    record_digest,
    schema_id,
)


def test_a_file_gives_back_what_was_kept(tmp_path: Path) -> None:
    files = StateFiles(tmp_path, schema="s1")
    kept = Kept(offset=42, last_offset=40, last_digest=record_digest(b"k", b"v"), data=b"{}")
    files.write("t.assist.chain", 3, kept)
    assert files.read("t.assist.chain", 3) == kept
    assert files.read("t.assist.chain", 4) is None  # no file
    assert not list(tmp_path.glob("*.partial"))


def test_a_file_of_another_shape_topic_or_partition_is_not_used(tmp_path: Path) -> None:
    StateFiles(tmp_path, schema="s1").write("a", 0, Kept(1, 0, "d", b"x"))
    assert StateFiles(tmp_path, schema="s2").read("a", 0) is None
    (tmp_path / "a-0.state").rename(tmp_path / "b-0.state")
    assert StateFiles(tmp_path, schema="s1").read("b", 0) is None


def test_a_damaged_file_is_not_used(tmp_path: Path) -> None:
    files = StateFiles(tmp_path, schema="s1")
    files.write("a", 0, Kept(1, 0, "d", b'{"HH-1": {}}'))
    path = files.path("a", 0)
    path.write_bytes(path.read_bytes()[:-3])  # cut short
    assert files.read("a", 0) is None
    path.write_bytes(b"not a header")
    assert files.read("a", 0) is None


def test_a_digest_tells_key_and_value_apart() -> None:
    assert record_digest(b"ab", b"c") != record_digest(b"a", b"bc")
    assert record_digest(None, b"v") == record_digest(b"", b"v")


class _OnePartition:
    state_topic = "t.assist.chain"
    state_schema = "s1"

    def dump_partition(self, partition: int) -> bytes:
        return b'{"HH-1": {}}'

    def load_partition(self, partition: int, data: bytes) -> None: ...


def test_a_disk_that_fails_a_write_costs_a_retry_not_the_run(tmp_path: Path) -> None:
    blocked = tmp_path / "state"
    blocked.write_text("a file where the directory should be")
    keeper = PartitionKeeper(blocked, _OnePartition(), every_seconds=0.0, processor="t.referral")
    tp = TopicPartition("t.assist.chain", 0)
    keeper.handled(tp, [SimpleNamespace(offset=7, key=b"HH-1", value=b"v")])  # type: ignore[list-item]
    keeper.keep({tp: 8}, due_only=False)  # logs, raises nothing
    assert blocked.is_file()
    blocked.unlink()
    keeper.keep({tp: 8}, due_only=False)  # the partition is still due: written now
    assert StateFiles(blocked, "s1").read("t.assist.chain", 0) == Kept(
        8, 7, record_digest(b"HH-1", b"v"), b'{"HH-1": {}}'
    )


def test_a_schema_id_changes_with_the_shape_or_the_version() -> None:
    one = schema_id(TypeAdapter(dict[str, int]), 1)
    assert one == schema_id(TypeAdapter(dict[str, int]), 1)
    assert one != schema_id(TypeAdapter(dict[str, str]), 1)
    assert one != schema_id(TypeAdapter(dict[str, int]), 2)
