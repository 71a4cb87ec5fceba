"""ChainIndexer: folds chain records, and hands a snapshot of the heads over when one is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from unit.audit.audit_histories import chained, history

from services.audit.checkpointer import HeadsSnapshot
from services.audit.config import CheckpointSettings
from services.audit.indexer import ChainIndexer
from services.runtime.messages import Inbound

T = datetime(2026, 11, 1, tzinfo=UTC)


def indexer(
    every: int = 5, seconds: float = 60, accept: bool = True
) -> tuple[ChainIndexer, list[HeadsSnapshot]]:
    submitted: list[HeadsSnapshot] = []

    def submit(snapshot: HeadsSnapshot) -> bool:
        submitted.append(snapshot)
        return accept

    return ChainIndexer(
        CheckpointSettings(every_events=every, seconds=seconds), 0, submit
    ), submitted


def feed(target: ChainIndexer, household_id: str, start: int = 0, count: int = 9) -> None:
    for n, e in enumerate(chained(history(household_id))[:count]):
        target.handle(Inbound("chain", 0, start + n, e.key, e.to_bytes()), replaying=False)


def test_nothing_to_checkpoint_before_any_event() -> None:
    target, submitted = indexer()
    assert target.tick(T) == [] and submitted == []


def test_first_tick_after_start_checkpoints_then_every_n_events() -> None:
    target, submitted = indexer(every=5)
    feed(target, "HH-A", count=3)
    target.tick(T)
    assert len(submitted) == 1 and submitted[0].heads["HH-A"][0] == 3
    assert submitted[0].positions == {0: 3} and submitted[0].taken_at == T
    feed(target, "HH-B", start=3, count=4)
    target.tick(T + timedelta(seconds=1))
    assert len(submitted) == 1  # 4 new events < 5, and not yet 60 s
    feed(target, "HH-C", start=7, count=1)
    target.tick(T + timedelta(seconds=2))
    assert len(submitted) == 2 and set(submitted[1].heads) == {"HH-A", "HH-B", "HH-C"}


def test_after_the_interval_a_single_new_event_is_enough() -> None:
    target, submitted = indexer(every=1000, seconds=10)
    feed(target, "HH-A", count=1)
    target.tick(T)
    feed(target, "HH-A", start=1, count=1)
    target.tick(T + timedelta(seconds=9))
    target.tick(T + timedelta(seconds=10))
    assert len(submitted) == 2


def test_a_refused_snapshot_is_offered_again_at_the_next_tick() -> None:
    target, submitted = indexer(accept=False)
    feed(target, "HH-A", count=2)
    target.tick(T)
    target.tick(T + timedelta(seconds=1))
    assert len(submitted) == 2


def test_the_snapshot_is_a_copy_later_events_do_not_change() -> None:
    target, submitted = indexer()
    feed(target, "HH-A", count=2)
    target.tick(T)
    feed(target, "HH-A", start=2, count=7)
    assert submitted[0].heads["HH-A"][0] == 2 and target.index.heads_map["HH-A"][0] == 9


def test_no_snapshot_until_the_log_is_read_to_its_end_as_of_the_start() -> None:
    # Past the offsets committed before a restart is not yet the end of the log: a tree head
    # taken there would cover less than the last one signed, and look like a cut log.
    caught_up = False
    submitted: list[HeadsSnapshot] = []

    def submit(snapshot: HeadsSnapshot) -> bool:
        submitted.append(snapshot)
        return True

    target = ChainIndexer(CheckpointSettings(), 0, submit, ready=lambda: caught_up)
    feed(target, "HH-A", count=3)
    target.tick(T)
    assert submitted == []
    caught_up = True
    target.tick(T + timedelta(seconds=1))
    [snapshot] = submitted
    assert snapshot.trees[0][0] == 3 and snapshot.logs[0].size == 3
