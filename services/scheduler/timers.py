"""The dates-that-matter processor: `RescreeningDue` when the system's clock reaches a date.

It follows every household's chain (its latest classification, re-screenings, closing), the
policy versions on `assist.policy` and the clock on `assist.clock`, and keeps one timer per
open household in a heap ordered by when the date arrives (midnight in the region's zone), so
a tick costs what is due, not one look at every household.

Time is the clock's, never the wall's: timers fire only from `assist.clock` ticks, only once
the processor has caught up with its inputs (so its view of each chain is current), and a
fired event's id is derived from the household and the date. A restart (state is rebuilt by
replaying the inputs) or a second instance that fires a date again proposes the same event
id, and the chain writer drops the repeat: each date reaches a chain once.

What it knows of each household is kept on local disk by partition of the chain
(services/runtime/kept_state.py): a start restores it and replays only the chain's tail (the
clock and the policy versions are read whole, and a version read reschedules every date).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope, derived_event_id, new_event
from events.household import HouseholdClassified
from events.policy import DEFAULT_TIME_ZONE
from events.schedule import HouseholdClosed, RescreeningDue
from events.types import EventType
from services.rules.standards import UnknownRegion
from services.rules.versions import PolicyVersions
from services.runtime.clock import ClockTime
from services.runtime.kept_state import PartitionMembers, schema_id
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.scheduler.domain.dates import DueDate, Evaluation, next_due

SERVICE = "scheduler"
# The chain events that move a household's dates; the rest are skipped undecoded.
_FOLLOWED = frozenset(
    {
        EventType.HOUSEHOLD_CLASSIFIED.value,
        EventType.RESCREENING_DUE.value,
        EventType.HOUSEHOLD_CLOSED.value,
    }
)
# At most this many fire per tick (one transaction): a version taking effect for 100,000
# households fires over a few ticks, in date order, rather than in one transaction that could
# outlast the broker's transaction timeout.
MAX_FIRED_PER_TICK = 5000
# Stale heap entries (dates replaced by a later classification) are dropped when they outnumber
# live ones by this much: a household classified ten times leaves nine behind.
_COMPACT_SLACK = 1024
log = get_logger()


@dataclasses.dataclass(frozen=True)
class _KeptPartition:
    """The households of one partition of the chain, as kept on disk."""

    evaluations: dict[str, Evaluation]
    covered: dict[str, date]
    closed: list[str]


_PARTITION = TypeAdapter(_KeptPartition)
STATE_VERSION = 1  # bump when what a field means changes
STATE_SCHEMA = schema_id(_PARTITION, STATE_VERSION)


class DatesThatMatter:
    """StreamHandler over assist.chain, assist.clock and assist.policy; emits RescreeningDue."""

    state_schema = STATE_SCHEMA  # the shape of what is kept on disk (kept_state.py)

    def __init__(self, topics: TopicNames, live: Callable[[], bool] = lambda: True) -> None:
        self.topics = topics
        # Whether the processor has caught up with its inputs: a timer fired from an older
        # view of a chain would be a date that chain has already moved past.
        self._live = live
        self.clock = ClockTime()
        self.versions = PolicyVersions()
        self.evaluations: dict[str, Evaluation] = {}
        self.covered: dict[str, date] = {}  # latest RescreeningDue date seen or emitted
        self.closed: set[str] = set()
        self._timers: list[tuple[datetime, date, str]] = []  # (arrives at, date, household)
        self._scheduled: dict[str, tuple[datetime, date]] = {}  # each household's live entry
        self._members = PartitionMembers()  # the households of each chain partition

    # -- kept on disk --------------------------------------------------------------------------
    @property
    def state_topic(self) -> str:
        return self.topics.chain

    def dump_partition(self, partition: int) -> bytes:
        mine = self._members.of(partition)
        kept = _KeptPartition(
            {h: e for h in mine if (e := self.evaluations.get(h)) is not None},
            {h: on for h in mine if (on := self.covered.get(h)) is not None},
            [h for h in mine if h in self.closed],
        )
        return _PARTITION.dump_json(kept)

    def load_partition(self, partition: int, data: bytes) -> None:
        kept = _PARTITION.validate_json(data)
        self.evaluations.update(kept.evaluations)
        self.covered.update(kept.covered)
        self.closed.update(kept.closed)
        self._members.update(partition, kept.evaluations, kept.covered, kept.closed)
        # Scheduled with the versions read so far: a version read later reschedules them all.
        for household in kept.evaluations:
            self._schedule(household)

    # -- inputs ------------------------------------------------------------------------------
    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.clock:
            if not self.clock.observe_message(message.value):
                raise Rejected("value: not a ClockAdvanced tick")
            return []
        if message.topic == self.topics.policy:
            if self.versions.fold(_decode(message.value)):
                self._reschedule_all()
            return []
        if message.event_type not in _FOLLOWED:
            return []
        event = _decode(message.value)
        if event.household_id is not None:
            self._members.add(message.partition, event.household_id)
        self._fold(event)
        return []

    def _fold(self, event: Envelope) -> None:
        payload, household = event.payload, str(event.household_id)
        if household in self.closed:
            return  # closed for good: a classification still in flight opens nothing
        if isinstance(payload, HouseholdClassified):
            self.evaluations[household] = Evaluation(
                region_code=payload.region_code,
                evaluated_on=payload.effective_date,
                next_rescreening=payload.next_rescreening,
                classified_event_id=event.event_id,
            )
        elif isinstance(payload, RescreeningDue):
            # Whoever proposed it (this scheduler, or identification for a member who moved):
            # it covers every date up to its own.
            self.covered[household] = max(payload.on, self.covered.get(household, payload.on))
        elif isinstance(payload, HouseholdClosed):
            self.closed.add(household)
            self.evaluations.pop(household, None)
            self.covered.pop(household, None)
        else:
            return
        self._schedule(household)

    # -- timers ------------------------------------------------------------------------------
    def tick(self, now: datetime) -> Sequence[Outbound]:
        """Fire every date the clock has reached. `now` is the wall clock: not used."""
        at = self.clock.now
        if at is None or not self._live():
            return []
        fired: list[Envelope] = []
        while self._timers and self._timers[0][0] <= at and len(fired) < MAX_FIRED_PER_TICK:
            _, on, household = heapq.heappop(self._timers)
            entry = self._scheduled.get(household)
            if entry is None or entry[1] != on:
                continue  # replaced by a later classification, or closed
            del self._scheduled[household]
            due = self._due(household)
            if due is None or due.on != on:  # cannot happen: entries follow every change
                continue
            self.covered[household] = on
            fired.append(self._rescreening(household, due, at))
        return [Outbound.event(self.topics.events, event) for event in fired]

    def _due(self, household: str) -> DueDate | None:
        evaluation = self.evaluations.get(household)
        if evaluation is None:
            return None
        return next_due(evaluation, self.versions.book, self.covered.get(household))

    def _schedule(self, household: str) -> None:
        due = self._due(household)
        if due is None:
            self._scheduled.pop(household, None)
            return
        if (entry := self._scheduled.get(household)) is not None and entry[1] == due.on:
            return
        arrives = self._midnight(self.evaluations[household].region_code, due.on)
        self._scheduled[household] = (arrives, due.on)
        heapq.heappush(self._timers, (arrives, due.on, household))
        if len(self._timers) > 2 * len(self._scheduled) + _COMPACT_SLACK:
            self._timers = [(a, on, h) for h, (a, on) in self._scheduled.items()]
            heapq.heapify(self._timers)

    def _reschedule_all(self) -> None:
        """A version was approved or withdrawn: any household's date may move (rare)."""
        self._timers, self._scheduled = [], {}
        for household in self.evaluations:
            self._schedule(household)

    def _midnight(self, region_code: str, on: date) -> datetime:
        """When `on` begins in the region's zone (the deployment's default for a region no
        version knows: classification refuses those, so this is a fallback only)."""
        try:
            return self.versions.book.midnight(region_code, on)
        except UnknownRegion:
            return datetime(on.year, on.month, on.day, tzinfo=ZoneInfo(DEFAULT_TIME_ZONE))

    def _rescreening(self, household: str, due: DueDate, clock_now: datetime) -> Envelope:
        evaluation = self.evaluations[household]
        # The same household and date: the same event, however often it is fired.
        event_id = derived_event_id(household, "rescreening", due.on.isoformat())
        event = new_event(
            due.payload(),
            household_id=household,
            producer=SERVICE,
            occurred_at=self._midnight(evaluation.region_code, due.on),
            recorded_at=clock_now,
            event_id=event_id,
            # A date that matters starts a correlation of its own: what it causes is traced
            # to it, while the causation links it to the classification that named it.
            correlation_id=event_id,
            causation_id=evaluation.classified_event_id,
        )
        log.info(
            "re-screening due",
            household_id=household,
            reason=due.reason.value,
            on=due.on.isoformat(),
            policy_version=due.policy_version,
            event_type=EventType.RESCREENING_DUE.value,
            correlation_id=str(event.correlation_id),
        )
        return event


def _decode(value: bytes | None) -> Envelope:
    try:
        return decode_event(value)
    except DecodeError as error:
        raise Rejected(str(error)) from None
