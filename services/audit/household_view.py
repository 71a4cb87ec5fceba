"""What the auditor's household page shows, computed from the household's records as read: the
timeline, the service's own check against the latest tree head, and the state as of an instant
(the same fold as `GET /v1/households/{id}/state?as_of=`). No HTTP here: the routes read the
records (recording the access) and hand them to `household_view`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.audit import AnyTreeHead
from services.audit.domain.household_timeline import TimelineEntry, household_timeline
from services.audit.domain.records import parse_record
from services.audit.domain.state import fold_records
from services.audit.domain.verification import signed_only
from services.audit.household_integrity import HouseholdIntegrity, check_household
from services.audit.index import ChainIndex
from services.audit.views import StateView, state_view

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LONGEST_AS_OF = 64


@dataclass(frozen=True)
class AsOf:
    """The instant the state is folded at, as the auditor asked for it."""

    instant: datetime
    day: date  # its date in the deployment's zone: what the date picker shows
    whole_day: bool  # asked as a date: the instant is the last of that day

    def describe(self, zone: tzinfo) -> str:
        if self.whole_day:
            return f"the end of {self.day.isoformat()} ({zone})"
        return self.instant.isoformat()


def parse_as_of(text: str, zone: tzinfo) -> AsOf:
    """A date (`2026-12-01`: the state at the end of that day in `zone`, every event recorded
    by 23:59:59.999999 folded) or an ISO 8601 instant with its zone, as the API takes it.
    ValueError says what is wrong."""
    text = text.strip()
    if len(text) > _LONGEST_AS_OF:
        raise ValueError("too long for a date or an instant")
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
            next_day = datetime.combine(day + timedelta(days=1), time(), zone)
            end = next_day - timedelta(microseconds=1)
        except (ValueError, OverflowError):
            raise ValueError(f"{text!r} is not a date of the calendar") from None
        return AsOf(end, day, whole_day=True)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 instant"
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            "an instant needs its zone (e.g. 2026-12-01T10:00:00+08:00), or give a date"
        )
    return AsOf(instant, instant.astimezone(zone).date(), whole_day=False)


@dataclass(frozen=True)
class HouseholdView:
    household_id: str
    entries: list[TimelineEntry]  # every stored record, in chain order
    integrity: HouseholdIntegrity
    state: StateView  # as of `as_of` (the whole chain without one)
    as_of: AsOf | None
    zone: tzinfo  # times are shown in it

    @property
    def first_recorded_at(self) -> datetime | None:
        return next((e.recorded_at for e in self.entries if e.recorded_at is not None), None)

    def anchor_of(self, sequence: int | None) -> str | None:
        """The page anchor of the chain writer's event at `sequence` (what the state names)."""
        for entry in self.entries:
            if entry.sequence == sequence and entry.appended_by_writer:
                return entry.anchor
        return None


def household_view(
    household_id: str,
    values: Sequence[bytes | None],
    index: ChainIndex,
    tree_head: AnyTreeHead | None,
    audit_key: Ed25519PublicKey,
    as_of: AsOf | None,
    zone: tzinfo,
) -> HouseholdView:
    integrity = check_household(household_id, values, index, tree_head, audit_key)
    instant = as_of.instant if as_of is not None else None
    # Records the chain writer did not append are shown, never folded (as the API folds).
    state = fold_records(household_id, signed_only(values, integrity.unsigned), instant)
    documents = [parse_record(value)[0] for value in values]
    return HouseholdView(
        household_id,
        household_timeline(documents, integrity.unsigned, instant),
        integrity,
        state_view(state),
        as_of,
        zone,
    )
