"""Every envelope carries its type in a record header; consumers pass over what they do not
follow by that header, and read records written before it existed from their bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from support.loop import Loop, application, dibao_members

from contracts.topics import TopicNames
from events.envelope import Envelope, new_event
from events.schedule import HouseholdClosed
from events.types import ClosureReason
from services.classification.handler import ClassificationHandler
from services.intake.visits import VisitIndex
from services.operations.referral_board import ReferralBoard
from services.referral.handler import ReferralHandler
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.peek import EVENT_TYPE_HEADER, event_type_header

TOPICS = TopicNames()


def _closed_event() -> Envelope:
    closed = HouseholdClosed(reason=ClosureReason.LAST_MEMBER_MOVED, on=date(2026, 3, 1))
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    return new_event(closed, household_id="HH-1", producer="t", occurred_at=at)


def _closed() -> bytes:
    return _closed_event().to_bytes()


def test_an_envelope_goes_out_with_its_type_in_a_header() -> None:
    out = Outbound.event(TOPICS.events, _closed_event())
    assert out.headers == ((EVENT_TYPE_HEADER, b"HouseholdClosed"),)


def test_the_type_is_read_from_the_header_first() -> None:
    # The header decides without a look at the bytes (here: nothing that parses).
    message = Inbound(
        TOPICS.chain, 0, 0, b"HH-1", b"\x00", headers=(event_type_header("ReferralIssued"),)
    )
    assert message.event_type == "ReferralIssued"


def test_a_record_without_the_header_is_read_from_its_bytes() -> None:
    assert Inbound(TOPICS.chain, 0, 0, b"HH-1", _closed()).event_type == "HouseholdClosed"
    assert Inbound(TOPICS.chain, 0, 0, b"HH-1", b"{}").event_type == ""


@pytest.mark.parametrize("named", [b"NoSuchEvent", b"Referral\xffIssued"])
def test_a_header_naming_no_event_type_says_unknown(named: bytes) -> None:
    message = Inbound(TOPICS.chain, 0, 0, None, _closed(), headers=((EVENT_TYPE_HEADER, named),))
    assert message.event_type == "unknown"


def test_a_consumer_passes_over_a_type_it_does_not_follow_by_its_header() -> None:
    handler = ReferralHandler(TOPICS)
    unreadable = b"not an event"
    passed = Inbound(
        TOPICS.chain, 0, 0, b"HH-1", unreadable, headers=(event_type_header("ApplicationReceived"),)
    )
    assert handler.handle(passed, replaying=False) == []
    # The same bytes, without a header saying what they are, must be read, and are refused.
    with pytest.raises(Rejected):
        handler.handle(Inbound(TOPICS.chain, 0, 1, b"HH-1", unreadable), replaying=False)
    # A header naming a type the handler follows makes it read the body, which counts.
    followed = Inbound(
        TOPICS.chain, 0, 2, b"HH-1", unreadable, headers=(event_type_header("HouseholdClassified"),)
    )
    with pytest.raises(Rejected):
        handler.handle(followed, replaying=False)


class _RecordingLoop(Loop):
    """The in-memory loop, keeping every message as its consumers were given it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.delivered: list[Inbound] = []

    def _put(self, message: Outbound) -> Inbound:
        inbound = super()._put(message)
        self.delivered.append(inbound)
        return inbound


def test_the_in_memory_loop_carries_the_type_header_onto_every_chain_record() -> None:
    loop = _RecordingLoop()
    loop.submit(application("HH-H", dibao_members()))
    chained = [m for m in loop.delivered if m.topic == TOPICS.chain]
    assert len(chained) == len(loop.chain) > 3
    for message, event in zip(chained, loop.chain, strict=True):
        assert (EVENT_TYPE_HEADER, event.event_type.value.encode()) in message.headers


def test_the_other_chain_consumers_pass_over_by_the_header_too() -> None:
    """Classification, intake's visit index and the console's referral board: a record whose
    header names a type they do not follow is not parsed, whatever its bytes say."""
    garbage = b'{"event_type":"HouseholdIdentified","Visit":"ReferralIssued"'  # parses to nothing
    passed = Inbound(
        TOPICS.chain, 0, 0, b"HH-1", garbage, headers=(event_type_header("ChainSettled"),)
    )
    board, visits = ReferralBoard(), VisitIndex()
    assert ClassificationHandler(TOPICS).handle(passed, replaying=False) == []
    assert visits.handle(passed, replaying=False) == []
    assert board.handle(passed, replaying=False) == []
    assert board.unreadable == 0 and visits.households == {}
    # Named by the header as one they follow, the same bytes are read (and found unreadable).
    followed = Inbound(
        TOPICS.chain, 0, 1, b"HH-1", garbage, headers=(event_type_header("ReferralIssued"),)
    )
    board.handle(followed, replaying=False)
    assert board.unreadable == 1
    with pytest.raises(ValueError):
        visits.handle(
            Inbound(
                TOPICS.chain, 0, 2, b"HH-1", garbage, headers=(event_type_header("VisitRequested"),)
            ),
            replaying=False,
        )
