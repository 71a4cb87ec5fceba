"""A dead letter is bounded whatever the message: past DEADLETTER_MAX_BYTES it keeps the original's
digest, size, source and first bytes, says `truncated`, and its readers cope with it."""

from __future__ import annotations

import base64
import hashlib
import json

from contracts.topics import TopicNames
from events.feedback import DeadLetter
from services.operations.deadletters import DeadLetterLog, describe
from services.runtime.deadletter import dead_letter, original_value, read_dead_letter
from services.runtime.limits import (
    DEADLETTER_MAX_BYTES,
    DEADLETTER_MAX_REASON_CHARS,
    DEADLETTER_PREFIX_BYTES,
    MAX_MESSAGE_BYTES,
    fits_a_record,
)
from services.runtime.messages import Inbound

TOPICS = TopicNames("t.")


def oversized(size: int = 900_000) -> bytes:
    """An event-like JSON document of `size` bytes, as an attacker would write it to a topic."""
    head = b'{"event_type":"ApplicationReceived","household_id":"HH-BIG","payload":{"note":"'
    return head + b"x" * (size - len(head) - 3) + b'"}}'


def letter_of(message: Inbound, reason: str = "payload.note: too long") -> tuple[bytes, DeadLetter]:
    out = dead_letter(message, "chainwriter", reason, TOPICS.deadletter)
    return out.value, DeadLetter.model_validate_json(out.value)


def test_a_900_kb_message_gives_a_dead_letter_under_the_limit_with_digest_size_and_prefix() -> None:
    original = oversized()
    message = Inbound(TOPICS.events, 4, 1234, b"HH-BIG", original)
    value, letter = letter_of(message)

    assert len(value) <= DEADLETTER_MAX_BYTES and fits_a_record(b"x" * 64, value)
    assert len(value) < 20_000  # the prefix, not the whole
    assert letter.truncated is True and letter.value_base64 is None
    assert letter.value_bytes == len(original) == 900_000
    assert letter.value_sha256 == hashlib.sha256(original).hexdigest()
    assert base64.b64decode(letter.value_prefix_base64 or "") == original[:DEADLETTER_PREFIX_BYTES]
    source = letter.source
    assert (source.topic, source.partition, source.offset) == (TOPICS.events, 4, 1234)
    assert base64.b64decode(source.key_base64 or "") == b"HH-BIG"
    assert letter.reason == "payload.note: too long"


def test_any_message_the_broker_accepts_fits_as_a_dead_letter() -> None:
    biggest = Inbound(TOPICS.feedback, 0, 7, b"k" * 1024, b"\xff" * (MAX_MESSAGE_BYTES - 1024))
    value, letter = letter_of(biggest)
    assert len(value) <= DEADLETTER_MAX_BYTES and letter.truncated


def test_a_small_message_is_quoted_whole_with_its_digest() -> None:
    original = b'{"bad": true}'
    value, letter = letter_of(Inbound(TOPICS.events, 0, 1, b"HH-7", original))
    assert letter.truncated is False
    assert base64.b64decode(letter.value_base64 or "") == original
    assert letter.value_bytes == len(original)
    assert letter.value_sha256 == hashlib.sha256(original).hexdigest()
    assert original_value(json.loads(value)) == original


def test_a_message_up_to_what_http_lets_in_is_quoted_whole() -> None:
    original = oversized(256 * 1024 + 1024)  # the largest body, in an envelope
    _, letter = letter_of(Inbound(TOPICS.events, 0, 1, b"HH-7", original))
    assert letter.truncated is False


def test_a_key_too_long_to_quote_is_kept_as_digest_size_and_prefix() -> None:
    key = b"K" * 600_000
    value, letter = letter_of(Inbound(TOPICS.monitoring, 1, 9, key, b"{}"))
    assert len(value) <= DEADLETTER_MAX_BYTES and letter.truncated
    assert letter.source.key_base64 is None
    assert letter.source.key_bytes == len(key)
    assert letter.source.key_sha256 == hashlib.sha256(key).hexdigest()
    assert base64.b64decode(letter.source.key_prefix_base64 or "") == key[:DEADLETTER_PREFIX_BYTES]


def test_a_long_reason_is_cut() -> None:
    _, letter = letter_of(Inbound(TOPICS.events, 0, 1, None, b"{}"), reason="why " * 10_000)
    assert len(letter.reason) < DEADLETTER_MAX_REASON_CHARS + 50
    assert letter.reason.endswith("more characters)")


def test_readers_of_dead_letters_cope_with_a_truncated_one() -> None:
    original = oversized()
    out = dead_letter(Inbound(TOPICS.events, 2, 5, b"HH-BIG", original), "cw", "bad", "dl")
    parsed = read_dead_letter(out.value)
    assert original_value(parsed) is None
    assert parsed["value_text"].startswith('{"event_type":"ApplicationReceived"')

    log = DeadLetterLog(TOPICS)
    log.handle(Inbound(TOPICS.deadletter, 0, 0, out.key, out.value), False)
    assert log.unreadable == 0 and log.total == 1
    entry = log.recent()[0]
    assert entry.truncated and entry.value is None
    assert entry.quoted == original[:DEADLETTER_PREFIX_BYTES]
    document = describe(entry)
    assert document["truncated"] is True
    assert document["value_bytes"] == 900_000
    assert document["quoted_bytes"] == DEADLETTER_PREFIX_BYTES
    assert document["value_sha256"] == hashlib.sha256(original).hexdigest()
    assert document["original_at"] == f"{TOPICS.events}/2@5"
    assert document["key"] == "HH-BIG"
    assert document["value_text"].startswith('{"event_type"')


def test_a_dead_letter_written_before_digests_is_still_read() -> None:
    old = {
        "dead_letter_id": "0b6f7a4c-4a43-4c4e-9d6e-5de1d7f6c0aa",
        "service": "chainwriter",
        "reason": "bad",
        "failed_at": "2026-06-01T09:00:00+00:00",
        "source": {"topic": TOPICS.events, "partition": 0, "offset": 1, "key_base64": None},
        "value_base64": base64.b64encode(b'{"a":1}').decode(),
    }
    log = DeadLetterLog(TOPICS)
    log.handle(Inbound(TOPICS.deadletter, 0, 0, None, json.dumps(old).encode()), False)
    entry = log.recent()[0]
    assert not entry.truncated and entry.value == b'{"a":1}' and entry.value_bytes == 7
