"""Only the chain writer's appends count: it signs each record's hash (a Kafka header); the audit
names a record without that signature, keeps it out of the household's state, and does not blame
the writer's own next event for the break the forgery would otherwise make."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.loop import TOPICS
from unit.audit.audit_histories import chained, history, settled

from events.canonical import canonical_json
from events.chain import event_hash
from events.codec import decode_event
from services.audit.domain.state import fold_records
from services.audit.domain.verification import signed_only, verify_records
from services.audit.index import ChainIndex
from services.chainwriter.writer import ChainWriter
from services.runtime.messages import Inbound
from services.runtime.writer_signature import HEADER, sign_record, signed_by_writer

WRITER = Ed25519PrivateKey.generate()
HOUSEHOLD = "HH-SIGNED"


def genuine(documents: list[dict[str, Any]]) -> list[tuple[bytes, tuple[tuple[str, bytes], ...]]]:
    return [(canonical_json(d), (sign_record(WRITER, d["hash"]),)) for d in documents]


def forged_delivery(after: dict[str, Any]) -> dict[str, Any]:
    """A DELIVERED outcome of 99,999 appended after `after`, its hash link made correctly."""
    document: dict[str, Any] = json.loads(json.dumps(after))
    document["event_id"] = "00000000-0000-4000-8000-000000000099"
    document["event_type"] = "ReferralOutcomeReported"
    document["payload"] = {
        "referral_id": "R-medical",
        "program": "medical_assistance",
        "department": "medical_security",
        "outcome": "DELIVERED",
        "delivered": {"cash_amount": "99999.00"},
    }
    document["sequence"] = after["sequence"] + 1
    document["prev_hash"] = after["hash"]
    document["hash"] = event_hash(document)
    return document


def _rehashed(value: bytes | None) -> bytes:
    """The record with its content changed and its hash recomputed (the signature is not)."""
    document = json.loads(value or b"{}")
    document["payload"]["note"] = "changed"
    document["hash"] = event_hash(document)
    return canonical_json(document)


def test_a_signature_covers_the_record_hash_and_nothing_else() -> None:
    name, signature = sign_record(WRITER, "ab" * 32)
    assert name == HEADER
    assert signed_by_writer(WRITER.public_key(), "ab" * 32, [(HEADER, signature)])
    assert not signed_by_writer(WRITER.public_key(), "ac" * 32, [(HEADER, signature)])
    assert not signed_by_writer(WRITER.public_key(), "ab" * 32, [])
    other = Ed25519PrivateKey.generate().public_key()
    assert not signed_by_writer(other, "ab" * 32, [(HEADER, signature)])
    assert not signed_by_writer(WRITER.public_key(), None, [(HEADER, signature)])


def test_the_chain_writer_signs_what_it_appends_and_ignores_what_it_did_not() -> None:
    writer = ChainWriter(TOPICS, WRITER)
    [event] = history(HOUSEHOLD)[:1]
    [out] = writer.handle(Inbound(TOPICS.events, 0, 0, event.key, event.to_bytes()), False)
    document = json.loads(out.value)
    assert signed_by_writer(WRITER.public_key(), document["hash"], out.headers)

    restarted = ChainWriter(TOPICS, WRITER)
    restarted.observe_chained(document, out.headers)
    restarted.observe_chained(forged_delivery(document), ())  # someone else's append
    assert restarted.heads[HOUSEHOLD].hash == document["hash"]  # its own head, not the forgery


def test_a_forged_append_is_named_kept_out_and_the_next_event_not_blamed() -> None:
    documents = [e.to_document() for e in chained(history(HOUSEHOLD))]
    forgery = forged_delivery(documents[-1])
    assert decode_event(canonical_json(forgery)).event_type.value == "ReferralOutcomeReported"
    # The writer, unaware of the forgery, appends its own next event after its own head.
    following = chained([*history(HOUSEHOLD), settled(HOUSEHOLD, 90, [])])[-1].to_document()
    written = [
        *genuine(documents),
        (canonical_json(forgery), ()),
        *genuine([following]),
    ]
    index = ChainIndex(writer_key=WRITER.public_key())
    for offset, (value, headers) in enumerate(written):
        index.fold(0, offset, HOUSEHOLD.encode(), value, headers)
    values: list[bytes | None] = [value for value, _ in written]
    unsigned = index.unsigned(HOUSEHOLD, values)  # checked as the chain is read
    assert unsigned == [len(documents) + 1]
    # A record whose content was changed after the writer signed it is no longer its own.
    assert 3 in index.unsigned(HOUSEHOLD, [*values[:2], _rehashed(values[2]), *values[3:]])

    verdict = verify_records(HOUSEHOLD, values, unsigned)
    assert not verdict.valid and verdict.first_bad_sequence == len(documents) + 1
    assert "not appended by the chain writer" in str(verdict.reason)
    assert "without them" not in str(verdict.reason)  # the writer's own chain is whole
    assert verdict.head_hash == following["hash"]

    state = fold_records(HOUSEHOLD, signed_only(values, unsigned), None)
    assert all(d.cash_amount != 99999 for d in state.delivered)
    assert state.sequence == len(documents) + 1


def test_without_the_writers_key_nothing_is_flagged() -> None:
    documents = [e.to_document() for e in chained(history(HOUSEHOLD))]
    index = ChainIndex()
    for offset, document in enumerate(documents):
        index.fold(0, offset, HOUSEHOLD.encode(), canonical_json(document))
    values: list[bytes | None] = [canonical_json(d) for d in documents]
    assert index.unsigned(HOUSEHOLD, values) == []


def test_an_outcome_naming_another_program_than_its_referrals_does_not_count() -> None:
    documents = [e.to_document() for e in chained(history(HOUSEHOLD))]
    issued = next(
        d
        for d in documents
        if d["event_type"] == "ReferralIssued" and d["payload"]["department"] != "medical_security"
    )
    # Signed or not, an answer is checked against the referral it names.
    mismatched = forged_delivery(documents[-1])
    mismatched["payload"]["referral_id"] = issued["payload"]["referral_id"]
    mismatched["hash"] = event_hash(mismatched)
    values: list[bytes | None] = [canonical_json(d) for d in [*documents, mismatched]]
    state = fold_records(HOUSEHOLD, values, None)
    assert state.mismatched_outcomes == [len(documents) + 1]
    assert all(d.cash_amount != 99999 for d in state.delivered)
    referral = state.referrals[issued["payload"]["referral_id"]]
    assert referral.answered_sequence != len(documents) + 1
