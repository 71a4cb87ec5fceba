"""The engines phase's check of what each chain writer wrote: gap-free, linked, signed, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.engines import check_chains
from bench.injector import application_messages
from bench.workload import Workload
from events.chain import GENESIS_HASH, linked_bytes
from events.codec import decode_event
from services.runtime.writer_signature import sign_record

KEY = Ed25519PrivateKey.generate()
AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


Records = list[tuple[bytes, tuple[tuple[str, bytes], ...]]]


def _chain(households: int = 3, events_each: int = 2) -> Records:
    """Records as a correct chain writer writes them: per household, linked and signed."""
    records: Records = []
    for _, value in application_messages(Workload(3, AT).take(households * events_each, "c"), AT):
        event = decode_event(value)
        household = f"HH-C{len(records) % households}"
        event = event.model_copy(update={"household_id": household})
        previous = [json.loads(v) for v, _ in records if json.loads(v)["household_id"] == household]
        sequence = len(previous) + 1
        prev_hash = previous[-1]["hash"] if previous else GENESIS_HASH
        chained, digest = linked_bytes(event, sequence, prev_hash)
        records.append((chained, (sign_record(KEY, digest),)))
    return records


def test_a_correct_chain_passes() -> None:
    found = check_chains(_chain(), KEY.public_key())
    assert found == {
        "records": 6,
        "households": 3,
        "duplicates": 0,
        "broken_chains": [],
        "unsigned": 0,
        "ok": True,
    }


def test_a_gap_a_changed_byte_a_repeat_and_an_unsigned_record_each_fail() -> None:
    records = _chain()
    gap = records[1:]  # HH-C0's first record
    assert check_chains(gap, KEY.public_key())["broken_chains"] == ["HH-C0"]
    value, headers = records[5]
    changed = records[:5] + [
        (value.replace(b'"ApplicationReceived"', b'"ApplicationReceivef"'), headers)
    ]
    assert not check_chains(changed, KEY.public_key())["ok"]
    repeated = check_chains(records + records[5:], KEY.public_key())
    assert repeated["duplicates"] == 1 and not repeated["ok"]
    unsigned = check_chains(records[:5] + [(value, ())], KEY.public_key())
    assert unsigned["unsigned"] == 1 and not unsigned["ok"]
    other = Ed25519PrivateKey.generate().public_key()
    assert check_chains(records, other)["unsigned"] == 6
