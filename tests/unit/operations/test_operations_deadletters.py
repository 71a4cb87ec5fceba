"""The dead-letter log: folding letters and re-drives, finding one, when not to re-drive."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.topics import TopicNames
from events.feedback import DeadLetterRedriven
from services.operations.deadletters import (
    DeadLetterLog,
    describe,
    json_refusal,
    redrive_refusal,
)
from services.runtime.deadletter import dead_letter
from services.runtime.messages import Inbound

TOPICS = TopicNames("t.")
FAILED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def letter(
    topic: str,
    offset: int,
    value: bytes = b'{"bad": true}',
    service: str = "chainwriter",
    reason: str = "occurred_at: not a time",
) -> Inbound:
    source = Inbound(topic, 0, offset, b"HH-7", value)
    out = dead_letter(source, service, reason, TOPICS.deadletter, now=FAILED)
    return Inbound(TOPICS.deadletter, 0, offset, out.key, out.value)


def redriven(dead_letter_id: str, offset: int) -> Inbound:
    record = DeadLetterRedriven(
        dead_letter_id=uuid.UUID(dead_letter_id),
        redriven_at=FAILED,
        topic=TOPICS.events,
        partition=0,
        offset=offset,
        value_sha256=hashlib.sha256(b"x").hexdigest(),
        fixed=True,
        forced=False,
        operator="op",
    )
    return Inbound(TOPICS.deadletter_redriven, 0, 0, None, record.model_dump_json().encode())


def test_letters_are_counted_once_and_listed_newest_first() -> None:
    log = DeadLetterLog(TOPICS)
    first, second = letter(TOPICS.events, 1), letter(TOPICS.feedback, 2, service="feedback")
    for message in (first, second, first):  # the same failure again after a restart
        log.handle(message, replaying=False)
    assert log.total == 2
    assert dict(log.by_service) == {"chainwriter": 1, "feedback": 1}
    assert [e.letter.source.offset for e in log.recent()] == [2, 1]
    assert [e.letter.service for e in log.recent(service="feedback")] == ["feedback"]


def test_a_letter_is_found_by_id_or_unique_prefix_and_described() -> None:
    log = DeadLetterLog(TOPICS)
    log.handle(letter(TOPICS.events, 1, value=b'{"household_id":"HH-7"}'), False)
    entry = log.recent()[0]
    assert log.find(entry.dead_letter_id[:8]) is entry
    assert log.find(entry.dead_letter_id.upper()) is entry
    with pytest.raises(LookupError, match="no dead letter"):
        log.find("ffffffff")
    document = describe(entry)
    assert document["key"] == "HH-7"
    assert json.loads(document["value_text"]) == {"household_id": "HH-7"}
    assert document["source"] == {"topic": TOPICS.events, "partition": 0, "offset": 1}


def test_binary_originals_are_described_as_not_text() -> None:
    log = DeadLetterLog(TOPICS)
    log.handle(letter(TOPICS.events, 1, value=b"\xff\xfe garbage"), False)
    assert describe(log.recent()[0])["value_text"] is None


def test_redrives_are_attached_whether_they_come_before_or_after_the_letter() -> None:
    log = DeadLetterLog(TOPICS)
    message = letter(TOPICS.events, 1)
    log.handle(message, False)
    entry_id = log.recent()[0].dead_letter_id
    log.handle(redriven(entry_id, 10), False)
    assert [r.offset for r in log.find(entry_id).redrives] == [10]

    replayed = DeadLetterLog(TOPICS)  # the redriven topic read first, as `load` may interleave
    replayed.handle(redriven(entry_id, 10), False)
    replayed.handle(message, False)
    assert len(replayed.find(entry_id).redrives) == 1


def test_unreadable_records_are_counted_not_refused() -> None:
    log = DeadLetterLog(TOPICS)
    assert log.handle(Inbound(TOPICS.deadletter, 0, 0, None, b"nonsense"), False) == []
    assert log.handle(Inbound(TOPICS.deadletter_redriven, 0, 0, None, None), False) == []
    assert log.unreadable == 2 and log.total == 0


def test_only_the_recent_letters_are_kept_but_all_are_counted() -> None:
    log = DeadLetterLog(TOPICS, keep=3)
    for offset in range(5):
        log.handle(letter(TOPICS.events, offset), False)
    assert log.total == 5
    assert [e.letter.source.offset for e in log.recent()] == [4, 3, 2]


def test_redrive_rules() -> None:
    log = DeadLetterLog(TOPICS)
    for offset, topic in enumerate((TOPICS.events, TOPICS.chain, TOPICS.checkpoints)):
        log.handle(letter(topic, offset), False)
    by_topic = {e.letter.source.topic: e for e in log.recent()}
    assert redrive_refusal(by_topic[TOPICS.events], TOPICS, force=False) is None
    chain_refusal = redrive_refusal(by_topic[TOPICS.chain], TOPICS, force=True)
    assert chain_refusal is not None and "hash chain" in chain_refusal
    assert redrive_refusal(by_topic[TOPICS.checkpoints], TOPICS, force=True) is not None

    log.handle(redriven(by_topic[TOPICS.events].dead_letter_id, 10), False)
    again = redrive_refusal(by_topic[TOPICS.events], TOPICS, force=False)
    assert again is not None and "already re-driven" in again and "--force" in again
    assert redrive_refusal(by_topic[TOPICS.events], TOPICS, force=True) is None


def test_a_fix_must_be_json() -> None:
    assert json_refusal(b'{"event_type": "ApplicationReceived"}') is None
    assert "not JSON" in (json_refusal(b"{oops") or "")
    assert json_refusal(b"\xff") is not None
