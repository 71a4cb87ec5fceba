"""verify_records and ChainsVerifier: the stored chain's faults, named by their sequence."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from unit.audit.audit_histories import chained, history

from events.canonical import canonical_json
from events.chain import event_hash, verify_chain
from services.audit.domain.verification import ChainsVerifier, verify_records

HH = "HH-V"


def records() -> list[bytes | None]:
    return [e.to_bytes() for e in chained(history(HH))]


def forged(value: bytes | None, rehash: bool = False) -> bytes:
    document = json.loads(value or b"")
    document["payload"]["tier"] = "EXTREMELY_POOR" if "tier" in document["payload"] else "x"
    document["producer"] = "forger"
    if rehash:
        document["hash"] = event_hash(document)
    return canonical_json(document)


def test_a_clean_chain_verifies_like_verify_chain() -> None:
    values = records()
    result = verify_records(HH, values)
    assert result == verify_chain([json.loads(v or b"") for v in values])
    assert result.valid and result.length == 9


def test_a_forged_event_with_the_same_sequence_is_named() -> None:
    values = records()
    values[4] = forged(values[4])
    result = verify_records(HH, values)
    assert (result.valid, result.first_bad_sequence, result.length) == (False, 5, 9)
    assert result.reason == "hash does not match the event's content"


def test_a_forged_event_with_a_recomputed_hash_breaks_the_next_link() -> None:
    values = records()
    values[4] = forged(values[4], rehash=True)
    assert verify_records(HH, values).first_bad_sequence == 6


def test_a_removed_event_and_two_swapped_events_are_named() -> None:
    values = records()
    assert verify_records(HH, values[:3] + values[4:]).first_bad_sequence == 4
    swapped = values[:5] + [values[6], values[5]] + values[7:]
    assert verify_records(HH, swapped).first_bad_sequence == 6


def test_an_unreadable_record_and_a_misfiled_event_are_named() -> None:
    values = records()
    result = verify_records(HH, [*values[:2], b"\xff garbage", *values[3:]])
    assert result.first_bad_sequence == 3 and result.reason is not None
    assert "JSON" in result.reason and result.head_hash == json.loads(values[1] or b"")["hash"]
    other = [e.to_bytes() for e in chained(history("HH-OTHER"))]
    result = verify_records(HH, [*values[:2], other[2]])
    assert result.first_bad_sequence == 3 and "HH-OTHER" in (result.reason or "")


def test_a_bad_first_record_reports_the_genesis_head() -> None:
    result = verify_records(HH, [None])
    assert result.first_bad_sequence == 1 and result.head_hash == "0" * 64


TAMPERING = st.lists(
    st.tuples(
        st.sampled_from(["drop", "swap", "forge", "rehash", "garbage", "foreign", "dup"]),
        st.integers(min_value=0, max_value=8),
    ),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(TAMPERING)
def test_one_pass_verifier_agrees_with_verify_records(tampering: list[tuple[str, int]]) -> None:
    values = records()
    foreign = [e.to_bytes() for e in chained(history("HH-OTHER"))]
    for action, i in tampering:
        i %= max(len(values), 1)
        if not values:
            break
        if action == "drop":
            del values[i]
        elif action == "swap" and i + 1 < len(values):
            values[i], values[i + 1] = values[i + 1], values[i]
        elif action in ("forge", "rehash") and values[i] and values[i] != b"\xff":
            values[i] = forged(values[i], rehash=action == "rehash")
        elif action == "garbage":
            values[i] = b"\xff"
        elif action == "foreign":
            values[i] = foreign[i % len(foreign)]
        elif action == "dup":
            values.insert(i, values[i])
    verifier = ChainsVerifier()
    for value in values:
        verifier.add(HH, value)
        verifier.add("HH-CLEAN", None)  # interleaved chains do not disturb each other
    if values:
        assert verifier.result(HH) == verify_records(HH, values)
    assert verifier.result("HH-NONE") is None
