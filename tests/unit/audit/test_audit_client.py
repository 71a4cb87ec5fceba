"""The CLI's side of the audit service: finding a token, and one household against a checkpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from unit.audit.audit_histories import documents, history

from events.audit import Checkpoint, CheckpointHead
from events.canonical import canonical_json
from services.audit.checkpoint_file import (
    CheckpointFileError,
    read_checkpoint_file,
    write_checkpoint_file,
)
from services.audit.client import AuditError, NotFound, resolve_token
from services.audit.domain.checkpoint import make_checkpoint, verify_checkpoint
from services.audit.domain.records import stored_hash
from services.audit.domain.verification import verify_records
from services.audit.household_check import check_household, document_hash
from services.runtime.signing_keys import public_pem

KEY = Ed25519PrivateKey.generate()
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class FakeService:
    """Answers /chain and /chain/verify from stored documents, as the service would."""

    def __init__(self, chains: dict[str, list[dict[str, Any]]]) -> None:
        self.chains = chains

    def chain(self, household_id: str) -> dict[str, Any]:
        if household_id not in self.chains:
            raise NotFound(household_id)
        return {"household_id": household_id, "events": self.chains[household_id]}

    def verify(self, household_id: str) -> dict[str, Any]:
        events = self.chain(household_id)["events"]
        v = verify_records(household_id, [canonical_json(d) for d in events])
        return {
            "household_id": household_id,
            "valid": v.valid,
            "length": v.length,
            "head_hash": v.head_hash,
            "first_bad_sequence": v.first_bad_sequence,
        }


def kept(*households: str) -> Checkpoint:
    heads = [
        CheckpointHead(household_id=h, length=9, head_hash=documents(history(h))[-1]["hash"])
        for h in households
    ]
    return make_checkpoint(heads, key=KEY, created_at=NOW, chain_topic="c", positions={})


def test_token_from_option_env_or_tokens_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSIST_TOKEN", raising=False)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"intake": "i", "operator": "o", "auditor": "a"}))
    assert resolve_token("given", tokens) == "given"
    assert resolve_token(None, tokens) == "a"
    tokens.write_text(json.dumps({"operator": "o"}))
    assert resolve_token(None, tokens) == "o"
    monkeypatch.setenv("ASSIST_TOKEN", "from-env")
    assert resolve_token(None, tokens) == "from-env"
    monkeypatch.delenv("ASSIST_TOKEN")
    with pytest.raises(AuditError, match="no token"):
        resolve_token(None, tmp_path / "missing.json")
    tokens.write_text(json.dumps({"intake": "i"}))
    with pytest.raises(AuditError, match="no auditor or operator token"):
        resolve_token(None, tokens)


def test_one_household_against_the_kept_checkpoint() -> None:
    grown = documents(history("HH-G")) + documents(history("HH-G"))[:0]
    service = FakeService(
        {
            "HH-A": documents(history("HH-A")),
            "HH-G": grown,
            "HH-CUT": documents(history("HH-CUT"))[:4],
        }
    )
    checkpoint = kept("HH-A", "HH-CUT", "HH-GONE")
    same = check_household(service, "HH-A", checkpoint)
    assert same.valid and same.in_checkpoint and same.findings == []
    cut = check_household(service, "HH-CUT", checkpoint)
    assert not cut.valid and cut.verification["valid"]
    assert [f.problem for f in cut.findings] == ["truncated"]
    gone = check_household(service, "HH-GONE", checkpoint)
    assert [f.problem for f in gone.findings] == ["missing"]
    elsewhere = check_household(service, "HH-G", checkpoint)
    assert elsewhere.valid and not elsewhere.in_checkpoint
    with pytest.raises(NotFound):
        check_household(service, "HH-NOPE", checkpoint)


def test_document_hash_matches_the_index_for_unreadable_records() -> None:
    document = documents(history("HH-A"))[0]
    assert document_hash(document) == document["hash"]
    shown = {"unreadable": "not JSON", "raw_base64": "bm90IGpzb24="}
    assert document_hash(shown) == stored_hash(b"not json", None)


def test_checkpoint_file_round_trip_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "kept.json"
    checkpoint = kept("HH-A")
    write_checkpoint_file(path, checkpoint, public_pem(KEY.public_key()), "test")
    read, key = read_checkpoint_file(path)
    assert read == checkpoint and verify_checkpoint(read, key) == []
    path.write_text("{}")
    with pytest.raises(CheckpointFileError, match="not an exported checkpoint"):
        read_checkpoint_file(path)
    with pytest.raises(CheckpointFileError, match="cannot read"):
        read_checkpoint_file(tmp_path / "missing.json")
