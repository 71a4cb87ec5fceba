"""The dates-that-matter handler with in-memory messages: when timers fire, and only once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from unit.scheduler.scheduler_events import (
    CHILD,
    DAY,
    TOPICS,
    Feed,
    Loop,
    classified,
    closed,
    dues,
    midnight,
    next_date,
    rescreening,
    version_events,
    withdrawal,
)

from events.envelope import derived_event_id
from events.schedule import RescreeningDue
from events.types import RescreeningReason
from services.runtime.messages import Rejected
from services.scheduler import timers
from services.scheduler.timers import DatesThatMatter

BIRTHDAY = date(2027, 3, 10)
EVALUATED = date(2026, 9, 1)


def fresh(live: bool = True) -> Feed:
    return Feed(DatesThatMatter(TOPICS, live=lambda: live))


def test_fires_on_the_date_at_midnight_in_the_region_not_the_day_before() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    feed.clock(midnight(BIRTHDAY) - timedelta(seconds=1))
    assert feed.tick() == []
    # Midnight in Hangzhou is 16:00 UTC the day before: the date has come there.
    feed.clock(datetime(2027, 3, 9, 16, 0, tzinfo=UTC))
    [due] = feed.tick()
    payload = due.payload
    assert isinstance(payload, RescreeningDue)
    assert (payload.reason, payload.on, payload.person_id, payload.age) == (
        RescreeningReason.BIRTHDAY,
        BIRTHDAY,
        CHILD,
        16,
    )
    assert due.household_id == "HH-1"
    assert due.event_id == derived_event_id("HH-1", "rescreening", "2027-03-10")
    assert due.correlation_id == due.event_id  # a date that matters starts a correlation
    assert due.occurred_at == midnight(BIRTHDAY)
    assert due.recorded_at == datetime(2027, 3, 9, 16, 0, tzinfo=UTC)  # the clock, not the wall
    assert due.producer == "scheduler"
    assert feed.tick() == []  # once


def test_the_wall_time_given_to_tick_is_not_the_clock() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    assert feed.tick() == []  # no clock known yet: nothing, whatever the wall says
    feed.clock(midnight(BIRTHDAY) - DAY)
    assert feed.tick() == []


def test_nothing_fires_before_the_processor_is_live() -> None:
    feed = fresh(live=False)
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    feed.clock(midnight(BIRTHDAY))
    assert feed.tick() == []


def test_a_tick_fires_every_household_due_in_date_order() -> None:
    feed = fresh()
    feed.chain(
        classified("HH-A", EVALUATED, next_date(date(2027, 3, 10))),
        classified(
            "HH-B", EVALUATED, next_date(date(2027, 2, 1), RescreeningReason.EXPENSE_EXPIRED)
        ),
        classified("HH-C", EVALUATED, next_date(date(2027, 5, 5))),
        classified("HH-D", EVALUATED, next_date(date(2028, 1, 1))),
        classified("HH-E", EVALUATED, None),
    )
    feed.clock(midnight(date(2027, 6, 1)))
    assert dues(feed.tick()) == [
        ("HH-B", date(2027, 2, 1), "expense_expired"),
        ("HH-A", date(2027, 3, 10), "birthday"),
        ("HH-C", date(2027, 5, 5), "birthday"),
    ]


def test_a_year_fires_each_date_in_order_one_after_another() -> None:
    loop = Loop(fresh())
    loop.script["HH-1"] = [
        next_date(date(2026, 10, 30), RescreeningReason.EMERGENCY_EXPIRED),
        next_date(BIRTHDAY),
        next_date(date(2027, 3, 1), RescreeningReason.PERIODIC_REVIEW),
        next_date(date(2027, 6, 2), RescreeningReason.EXPENSE_EXPIRED),
        next_date(date(2027, 9, 10), RescreeningReason.PERIODIC_REVIEW),
    ]
    loop.start("HH-1", EVALUATED)
    loop.feed.clock(midnight(date(2027, 9, 1)))
    chained = loop.run()
    assert dues(chained) == [
        ("HH-1", date(2026, 10, 30), "emergency_expired"),
        ("HH-1", date(2027, 3, 1), "periodic_review"),
        ("HH-1", date(2027, 3, 10), "birthday"),
        ("HH-1", date(2027, 6, 2), "expense_expired"),
    ]
    # Each waited for the classification of the one before: one per round, none twice.
    assert len(loop.fired) == len(chained)
    assert [d.causation_id for d in chained] == [
        classified("HH-1", on, loop._after("HH-1", on)).event_id
        for on in (EVALUATED, date(2026, 10, 30), date(2027, 3, 1), date(2027, 3, 10))
    ]
    loop.feed.clock(midnight(date(2027, 9, 10)))
    assert dues(loop.run()) == [("HH-1", date(2027, 9, 10), "periodic_review")]


def test_a_policy_version_taking_effect_earlier_comes_first_and_is_named() -> None:
    loop = Loop(fresh())
    loop.script["HH-1"] = [next_date(BIRTHDAY)]
    loop.start("HH-1", EVALUATED)
    loop.feed.policy(*version_events("2027-01", date(2027, 1, 1)))
    loop.feed.clock(midnight(date(2027, 12, 31)))
    chained = loop.run()
    assert dues(chained) == [
        ("HH-1", date(2027, 1, 1), "policy_version"),
        ("HH-1", BIRTHDAY, "birthday"),
    ]
    first = chained[0].payload
    assert isinstance(first, RescreeningDue)
    assert (first.policy_version, first.person_id, first.also) == ("2027-01", None, [])


def test_a_version_on_the_households_own_date_names_both() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(date(2027, 1, 1))))
    feed.policy(*version_events("2027-01", date(2027, 1, 1)))
    feed.clock(midnight(date(2027, 1, 1)))
    [due] = feed.tick()
    payload = due.payload
    assert isinstance(payload, RescreeningDue)
    assert (payload.reason, payload.policy_version, payload.also, payload.person_id) == (
        RescreeningReason.POLICY_VERSION,
        "2027-01",
        [RescreeningReason.BIRTHDAY],
        CHILD,
    )


def test_a_version_reaches_households_without_a_date_of_their_own_but_not_later_ones() -> None:
    feed = fresh()
    feed.chain(
        classified("HH-OLD", EVALUATED, None),
        classified("HH-NEW", date(2027, 2, 1), None),  # evaluated under it already
    )
    feed.policy(*version_events("2027-01", date(2027, 1, 1)))
    feed.clock(midnight(date(2027, 6, 1)))
    assert dues(feed.tick()) == [("HH-OLD", date(2027, 1, 1), "policy_version")]


def test_proposed_or_withdrawn_versions_move_nothing() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    feed.policy(*version_events("2026-12", date(2026, 12, 1), approved=False))
    feed.policy(*version_events("2027-01", date(2027, 1, 1)), withdrawal("2027-01"))
    feed.clock(midnight(date(2027, 6, 1)))
    assert dues(feed.tick()) == [("HH-1", BIRTHDAY, "birthday")]


def test_a_closed_household_never_fires() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    feed.policy(*version_events("2027-01", date(2027, 1, 1)))
    feed.chain(closed("HH-1", date(2026, 10, 1)))
    # A classification still in flight when it closed opens nothing again.
    feed.chain(classified("HH-1", date(2026, 10, 1), next_date(BIRTHDAY)))
    feed.clock(midnight(date(2028, 1, 1)))
    assert feed.tick() == []


def test_a_rescreening_on_the_chain_covers_every_date_up_to_its_own() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    # A member moved on 2027-04-01: that re-screening covers the birthday before it.
    feed.chain(rescreening("HH-1", date(2027, 4, 1), RescreeningReason.MEMBER_MOVED))
    feed.clock(midnight(date(2027, 6, 1)))
    assert feed.tick() == []
    feed.chain(classified("HH-1", date(2027, 4, 1), next_date(date(2027, 5, 1))))
    assert dues(feed.tick()) == [("HH-1", date(2027, 5, 1), "birthday")]


def test_an_older_classification_in_flight_does_not_fire_a_covered_date_again() -> None:
    feed = fresh()
    feed.chain(classified("HH-1", EVALUATED, next_date(BIRTHDAY)))
    feed.clock(midnight(date(2027, 6, 1)))
    assert len(feed.tick()) == 1
    # A signal's classification, computed before the re-screening, arrives after it fired.
    feed.chain(classified("HH-1", date(2026, 10, 5), next_date(BIRTHDAY)))
    assert feed.tick() == []


def test_a_replay_fires_nothing_already_on_the_chain_and_repeats_in_flight_ones_by_id() -> None:
    first = Loop(fresh())
    for household, birthday in (("HH-1", BIRTHDAY), ("HH-2", date(2027, 1, 20))):
        first.script[household] = [next_date(birthday)]
        first.start(household, EVALUATED)
    first.feed.policy(*version_events("2027-01", date(2027, 1, 1)))
    first.feed.clock(midnight(date(2027, 2, 1)))
    fired = first.run()
    assert dues(fired) == [
        ("HH-1", date(2027, 1, 1), "policy_version"),
        ("HH-2", date(2027, 1, 1), "policy_version"),
        ("HH-2", date(2027, 1, 20), "birthday"),
    ]

    # A new instance replays every input (outputs discarded), then goes live: nothing new.
    again = fresh()
    again.policy(*version_events("2027-01", date(2027, 1, 1)), replaying=True)
    again.clock(midnight(date(2027, 2, 1)), replaying=True)
    again.chain(*first.chain, replaying=True)
    assert again.tick() == []

    # Restarted before its last proposal reached the chain: it is proposed again, the same
    # event (the chain writer drops the repeat), and nothing else.
    last = first.chain.index(fired[-1])
    cut = fresh()
    cut.policy(*version_events("2027-01", date(2027, 1, 1)), replaying=True)
    cut.clock(midnight(date(2027, 2, 1)), replaying=True)
    cut.chain(*first.chain[:last], replaying=True)
    [repeat] = cut.tick()
    assert repeat.event_id == fired[-1].event_id
    assert cut.tick() == []


def test_a_tick_costs_what_is_due_and_stale_entries_do_not_pile_up() -> None:
    feed = fresh()
    handler = feed.handler
    for n in range(3000):
        feed.chain(classified("HH-1", EVALUATED + timedelta(days=n % 200), next_date(BIRTHDAY)))
    assert len(handler._timers) <= 2 + 1024 + 1
    feed.clock(midnight(date(2027, 6, 1)))
    assert dues(feed.tick()) == [("HH-1", BIRTHDAY, "birthday")]


def test_a_message_on_the_clock_that_is_no_tick_is_a_dead_letter() -> None:
    feed = fresh()
    with pytest.raises(Rejected, match="ClockAdvanced"):
        feed.handler.handle(feed.message(TOPICS.clock, b'{"not": "a tick"}'), False)


def test_other_chain_events_are_skipped_undecoded() -> None:
    feed = fresh()
    assert (
        feed.handler.handle(feed.message(TOPICS.chain, b'{"event_type":"ReferralIssued"'), False)
        == []
    )


def test_a_version_for_many_households_fires_over_several_ticks_in_date_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timers, "MAX_FIRED_PER_TICK", 10)
    feed = fresh()
    for n in range(25):
        feed.chain(classified(f"HH-{n:02d}", EVALUATED, next_date(date(2027, 2, 1) + n * DAY)))
    feed.policy(*version_events("2027-01", date(2027, 2, 10)))
    feed.clock(midnight(date(2027, 6, 1)))
    batches = [feed.tick() for _ in range(4)]
    assert [len(b) for b in batches] == [10, 10, 5, 0]
    fired = dues([e for b in batches for e in b])
    assert [on for _, on, _ in fired] == sorted(on for _, on, _ in fired)
    assert len({h for h, _, _ in fired}) == 25
