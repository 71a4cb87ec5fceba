"""What the dates-that-matter handler keeps of a partition on disk: restored, with the clock
and the versions read again, it fires exactly what the handler it was taken from fires."""

from __future__ import annotations

from datetime import date

from unit.scheduler.scheduler_events import (
    TOPICS,
    Feed,
    classified,
    closed,
    dues,
    midnight,
    next_date,
    rescreening,
    version_events,
)

from events.types import RescreeningReason
from services.runtime.kept_state import KeepsState
from services.scheduler.timers import DatesThatMatter

EVALUATED = date(2026, 9, 1)


def lived() -> Feed:
    feed = Feed(DatesThatMatter(TOPICS))
    feed.chain(classified("HH-1", EVALUATED, next_date(date(2027, 3, 10))))
    feed.chain(classified("HH-2", EVALUATED, next_date(date(2027, 1, 20))))
    feed.chain(rescreening("HH-2", date(2027, 2, 1), RescreeningReason.MEMBER_MOVED))
    feed.chain(classified("HH-3", EVALUATED, next_date(date(2027, 2, 1))))
    feed.chain(closed("HH-3", date(2026, 10, 1)))
    feed.chain(classified("HH-4", EVALUATED, None))  # only the version
    return feed


def restored(data: bytes) -> Feed:
    feed = Feed(DatesThatMatter(TOPICS))
    feed.handler.load_partition(0, data)
    return feed


def test_a_restored_partition_fires_what_the_original_fires() -> None:
    original = lived()
    handler = original.handler
    assert isinstance(handler, KeepsState) and handler.state_topic == TOPICS.chain
    data = handler.dump_partition(0)
    again = restored(data)
    assert again.handler.evaluations == handler.evaluations
    assert again.handler.covered == handler.covered
    assert again.handler.closed == handler.closed == {"HH-3"}
    assert again.handler.dump_partition(0) == data
    # A version approved after the file was written reaches the restored households too.
    for feed in (original, again):
        feed.policy(*version_events("2027-01", date(2027, 1, 1)))
        feed.clock(midnight(date(2027, 6, 1)))
    fired = dues(original.tick())
    assert fired == [
        ("HH-1", date(2027, 1, 1), "policy_version"),
        ("HH-4", date(2027, 1, 1), "policy_version"),
    ]
    assert dues(again.tick()) == fired


def test_only_the_partitions_households_are_kept() -> None:
    feed = Feed(DatesThatMatter(TOPICS))
    feed.chain(classified("HH-1", EVALUATED, next_date(date(2027, 3, 10))))
    assert restored(feed.handler.dump_partition(1)).handler.evaluations == {}
    assert set(restored(feed.handler.dump_partition(0)).handler.evaluations) == {"HH-1"}
