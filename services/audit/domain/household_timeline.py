"""A chain as the household page's timeline: who did what, why, and which event led to which.

`domain/timeline.describe` says what an event means and why it happened; this adds who acted
(the clerk, visitor, department or user an event names, else the service that wrote it), and
the links between events of the chain: the event that caused it (`causation_id`), the referral
it answers, the signal a warning is about, the referrals a settlement counts; and, the other
way, the events each one led to. A link points only at an event of this chain; a cause outside
it (a monitoring message, a tick of the clock) is named, not linked.

Pure: works on stored documents, in chain order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events.codec import DecodeError, decode_document
from events.envelope import Envelope
from events.household import ApplicationReceived, VisitCompleted
from events.monitoring import RecordReported, RiskWarningRaised, SignalReceived
from events.referral import (
    ChainSettled,
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.types import Outcome
from services.audit.domain.timeline import describe


@dataclass(frozen=True, slots=True)
class Link:
    """A pointer to another event: in this chain (`place` set) or only named by its id."""

    relation: str  # "caused by", "referral issued", "led to", ...
    event_id: str
    place: int | None = None  # its place (1-based) in the chain, when it is in it
    event_type: str = ""


@dataclass(slots=True)
class TimelineEntry:
    place: int  # 1-based, as stored
    sequence: int | None  # as the event says (a forged or broken record may say otherwise)
    event_id: str | None
    event_type: str
    recorded_at: datetime | None
    occurred_at: datetime | None
    service: str  # the producer: the service that wrote it
    who: str  # the person, department or service that acted
    what: str
    why: str
    correlation_id: str | None
    payload: str  # the payload as indented JSON, for the curious
    readable: bool = True
    appended_by_writer: bool = True  # False: not signed by the chain writer, never folded
    in_state: bool = True  # folded into the state shown (recorded at or before as_of)
    causes: list[Link] = field(default_factory=list)
    effects: list[Link] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """The id of the entry on the page: `e-<event_id>` (its place for an unreadable one)."""
        return f"e-{self.event_id}" if self.event_id else f"record-{self.place}"


def household_timeline(
    documents: Sequence[dict[str, Any] | None],
    unsigned: Sequence[int] = (),
    as_of: datetime | None = None,
) -> list[TimelineEntry]:
    """One entry per stored record, in chain order, linked to each other.

    `documents` are the stored records parsed (None: not a JSON object); `unsigned` the places
    the chain writer did not sign; `as_of` marks what the state as of that instant folds: the
    longest prefix recorded at or before it (domain/state), never a record the writer did not
    append.
    """
    entries = [_entry(place, document) for place, document in enumerate(documents, start=1)]
    events = [_decoded(document) for document in documents]
    folding = True
    for entry in entries:
        entry.appended_by_writer = entry.place not in unsigned
        if entry.appended_by_writer:
            late = as_of is not None and (entry.recorded_at is None or entry.recorded_at > as_of)
            folding = folding and entry.readable and not late
        entry.in_state = folding and entry.appended_by_writer
    _link(entries, events)
    return entries


def _entry(place: int, document: dict[str, Any] | None) -> TimelineEntry:
    if document is None:
        return TimelineEntry(
            place=place,
            sequence=None,
            event_id=None,
            event_type="?",
            recorded_at=None,
            occurred_at=None,
            service="?",
            who="?",
            what="unreadable record",
            why="not a JSON object",
            correlation_id=None,
            payload="",
            readable=False,
        )
    row = describe(document)
    event = _decoded(document)
    payload = document.get("payload")
    return TimelineEntry(
        place=place,
        sequence=row.sequence,
        event_id=str(document["event_id"]) if isinstance(document.get("event_id"), str) else None,
        event_type=row.event_type,
        recorded_at=event.recorded_at if event else None,
        occurred_at=event.occurred_at if event else None,
        service=row.producer,
        who=who_acted(event) if event else row.producer,
        what=row.what,
        why=row.why,
        correlation_id=str(event.correlation_id) if event else None,
        payload=json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True),
        readable=event is not None,
    )


def _decoded(document: dict[str, Any] | None) -> Envelope | None:
    if document is None:
        return None
    try:
        return decode_document(document)
    except DecodeError:
        return None


def who_acted(event: Envelope) -> str:
    """The person, department or service behind an event, as the event itself names them."""
    payload = event.payload
    if isinstance(payload, ApplicationReceived):
        sender = _sender(payload.submitted_by, payload.submitted_by_role)
        return sender or f"{payload.channel.value} application, via {event.producer}"
    if isinstance(payload, VisitCompleted):
        sender = _sender(payload.submitted_by, payload.submitted_by_role)
        return f"visitor {payload.visitor}" + (f", sent by {sender}" if sender else "")
    if isinstance(payload, SignalReceived | RecordReported):
        sender = _sender(payload.submitted_by, payload.submitted_by_role)
        return payload.source_department.value + (f", sent by {sender}" if sender else "")
    if isinstance(payload, ReferralOutcomeReported):
        department = payload.department.value
        return f"{payload.answered_by} of {department}" if payload.answered_by else department
    if isinstance(payload, ReferralIssued | ReferralAmended | ReferralWithdrawn):
        return f"{event.producer}, to {payload.department.value}"
    if isinstance(payload, ReferralOverdue):
        return f"{event.producer}, escalated to {payload.escalated_to}"
    return event.producer


def _sender(user: str | None, role: str | None) -> str:
    if user is None:
        return ""
    return f"{user} ({role})" if role else user


def _link(entries: list[TimelineEntry], events: list[Envelope | None]) -> None:
    """Causes of each entry among the earlier ones (or named), and effects the other way."""
    earlier = _Earlier(entries)
    for entry, event in zip(entries, events, strict=True):
        if event is not None:
            for link in _causes_of(event, earlier):
                if link.place is not None:
                    cause = entries[link.place - 1]
                    link = Link(link.relation, link.event_id, link.place, cause.event_type)
                    cause.effects.append(
                        Link("led to", entry.event_id or "", entry.place, entry.event_type)
                    )
                entry.causes.append(link)
            if entry.appended_by_writer:  # what someone else appended names nothing for others
                earlier.remember(event, entry.place)
        if entry.event_id is not None:
            earlier.place_of.setdefault(entry.event_id, entry.place)


class _Earlier:
    """What the entries before the current one say: event ids, referrals issued, delivered."""

    def __init__(self, entries: list[TimelineEntry]) -> None:
        self.entries = entries
        self.place_of: dict[str, int] = {}
        self.issued: dict[str, int] = {}  # referral id -> place of its latest ReferralIssued
        self.delivered: dict[str, int] = {}  # referral id -> place of its DELIVERED outcome

    def at(self, relation: str, place: int | None) -> Link | None:
        if place is None or self.entries[place - 1].event_id is None:
            return None
        return Link(relation, self.entries[place - 1].event_id or "", place)

    def named(self, relation: str, event_id: str) -> Link:
        return Link(relation, event_id, self.place_of.get(event_id))

    def remember(self, event: Envelope, place: int) -> None:
        payload = event.payload
        if isinstance(payload, ReferralIssued):
            self.issued[payload.referral_id] = place
        elif isinstance(payload, ReferralOutcomeReported) and payload.outcome is Outcome.DELIVERED:
            self.delivered.setdefault(payload.referral_id, place)


def _causes_of(event: Envelope, earlier: _Earlier) -> list[Link]:
    """What the event names as its cause or its subject, each event once."""
    payload = event.payload
    found: list[Link | None] = []
    if event.causation_id is not None:
        found.append(earlier.named("caused by", str(event.causation_id)))
    referral_id = getattr(payload, "referral_id", None)
    if isinstance(referral_id, str) and not isinstance(payload, ReferralIssued):
        found.append(earlier.at("about referral", earlier.issued.get(referral_id)))
    if isinstance(payload, ReferralIssued) and payload.transferred_from:
        found.append(earlier.at("transferred from", earlier.issued.get(payload.transferred_from)))
    if isinstance(payload, RiskWarningRaised):
        found.append(earlier.named("about signal", payload.signal_event_id))
    if isinstance(payload, ChainSettled):
        found += [
            earlier.at("delivery counted", earlier.delivered.get(r)) for r in payload.delivered
        ]
    correlation = str(event.correlation_id)
    if not any(found) and correlation != str(event.event_id) and correlation in earlier.place_of:
        # Nothing more precise: the event that began the flow this one belongs to.
        found.append(earlier.named("in the flow begun by", correlation))
    links: list[Link] = []
    for link in found:
        if link is not None and link.event_id not in {seen.event_id for seen in links}:
            links.append(link)
    return links
