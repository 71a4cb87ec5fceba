"""`assist verify HOUSEHOLD --checkpoint TREE-HEAD --writer-key PEM`: the chain writer's
signatures, served with the chain, are checked on the auditor's side; a record without a valid
one is named by its place whatever the service says, and a service whose `unsigned_records`
says otherwise is named for it (a lying or mistaken server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner
from unit.audit.audit_answers import inclusion_answer
from unit.audit.audit_histories import chained, history
from unit.audit.test_audit_writer_signatures import WRITER, forged_delivery, genuine

from events.audit import TreeHead
from events.canonical import canonical_json
from services.audit.checkpoint_file import write_tree_head_file
from services.audit.client import NotFound
from services.audit.domain.tree_head import make_tree_head
from services.audit.index import ChainIndex
from services.audit.tree_head_check import check_inclusion
from services.audit.views import chain_view
from services.cli import audit as cli_audit
from services.cli.__main__ import app as cli
from services.runtime.signing_keys import key_id, public_pem
from services.runtime.writer_signature import sign_record

AUDIT = Ed25519PrivateKey.generate()
HOUSEHOLD = "HH-SIGNED"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
Written = list[tuple[bytes, tuple[tuple[str, bytes], ...]]]


def clean() -> Written:
    return genuine([e.to_document() for e in chained(history(HOUSEHOLD))])


def with_forgery() -> Written:
    """The clean chain, then an append by someone without the writer's key (link correct)."""
    written = clean()
    last = json.loads(written[-1][0])
    return [*written, (canonical_json(forged_delivery(last)), ())]


class Service:
    """The audit service's answers, from an index that folded the records as the app does; with
    or without the chain writer's key of its own."""

    def __init__(self, written: Written, knows_writer: bool = True) -> None:
        self.index = ChainIndex(writer_key=WRITER.public_key() if knows_writer else None)
        for offset, (value, headers) in enumerate(written):
            self.index.fold(0, offset, HOUSEHOLD.encode(), value, headers)
        self.values: list[bytes | None] = [value for value, _ in written]

    def head(self) -> TreeHead:
        sizes = self.index.tree_sizes()
        return make_tree_head(sizes, key=AUDIT, created_at=NOW, chain_topic="assist.chain")

    def chain(self, household_id: str) -> dict[str, Any]:
        if household_id not in self.index.entries:
            raise NotFound(household_id)
        unsigned = self.index.unsigned(household_id, self.values)
        signatures = self.index.signatures(household_id, len(self.values))
        view = chain_view(household_id, self.values, unsigned, signatures)
        return view.model_dump(mode="json")

    def inclusion(self, household_id: str, tree_sizes: dict[int, int]) -> dict[str, Any]:
        return inclusion_answer(self.index, household_id, tree_sizes)

    def consistency(self, partition: int, old_size: int, new_size: int) -> dict[str, Any]:
        raise AssertionError("not asked")

    def writer_key(self) -> dict[str, Any]:
        if self.index.writer_key is None:
            raise NotFound("no chain writer's key")
        return {"public_key_pem": public_pem(self.index.writer_key)}


class Lying(Service):
    """A service that rewrites its chain answer with `change` before serving it."""

    def __init__(self, written: Written, change: Any) -> None:
        super().__init__(written)
        self.change = change

    def chain(self, household_id: str) -> dict[str, Any]:
        answer = super().chain(household_id)
        self.change(answer)
        return answer


def test_a_clean_chain_passes_with_every_signature_checked_here() -> None:
    service = Service(clean())
    check = check_inclusion(service, HOUSEHOLD, service.head(), WRITER.public_key())
    assert check.valid, check.findings
    assert check.writer_key_id == key_id(WRITER.public_key())
    assert check.unsigned_records == check.service_unsigned_records == []
    assert check.in_tree_head == 9


def test_a_forged_append_is_named_by_its_place() -> None:
    service = Service(with_forgery())
    check = check_inclusion(service, HOUSEHOLD, service.head(), WRITER.public_key())
    assert not check.valid
    assert check.chain_valid  # the chain writer's own events link up without it
    assert check.unsigned_records == check.service_unsigned_records == [10]
    assert check.findings == [
        "event 10: not appended by the chain writer (no chain writer's signature)"
    ]


def test_a_service_hiding_the_forgery_is_caught_and_named_for_it() -> None:
    def hide(answer: dict[str, Any]) -> None:
        answer["unsigned_records"] = []

    lying = Lying(with_forgery(), hide)
    check = check_inclusion(lying, HOUSEHOLD, lying.head(), WRITER.public_key())
    assert check.unsigned_records == [10] and check.service_unsigned_records == []
    assert check.findings == [
        "event 10: not appended by the chain writer (no chain writer's signature)",
        "the service's unsigned_records leave out event(s) 10, whose signature is missing or "
        "wrong (checked here)",
    ]


def test_a_service_serving_someone_elses_signature_for_the_forgery_is_caught() -> None:
    forged = with_forgery()
    first_signature = forged[0][1][0][1]

    def dress_up(answer: dict[str, Any]) -> None:
        answer["unsigned_records"] = []
        answer["writer_signatures"][9] = answer["writer_signatures"][0]

    lying = Lying(forged, dress_up)
    assert lying.index.signatures(HOUSEHOLD)[0] == first_signature
    check = check_inclusion(lying, HOUSEHOLD, lying.head(), WRITER.public_key())
    assert check.unsigned_records == [10]
    assert check.findings[0] == (
        "event 10: not appended by the chain writer (the chain writer's signature does not verify)"
    )


def test_a_service_accusing_a_genuine_record_is_named_and_the_record_kept() -> None:
    def accuse(answer: dict[str, Any]) -> None:
        answer["unsigned_records"] = [3]

    lying = Lying(clean(), accuse)
    check = check_inclusion(lying, HOUSEHOLD, lying.head(), WRITER.public_key())
    assert check.chain_valid and check.unsigned_records == []
    assert check.findings == [
        "the service's unsigned_records name event(s) 3, whose signature verifies here"
    ]


@pytest.mark.parametrize(
    ("signatures", "finding"),
    [
        (None, "the service gave 0 writer signatures for a chain of 9 events"),
        ([None] * 9, "event 1: not appended by the chain writer (no chain writer's signature)"),
        (["not base64!"] * 9, "event 1: not appended by the chain writer (the chain writer's"),
        ([42] * 9, "event 1: not appended by the chain writer (the chain writer's"),
    ],
    ids=["none-served", "nulls", "garbage", "not-strings"],
)
def test_signatures_withheld_or_garbled_are_findings_not_crashes(
    signatures: object, finding: str
) -> None:
    def withhold(answer: dict[str, Any]) -> None:
        answer["writer_signatures"] = signatures

    lying = Lying(clean(), withhold)
    check = check_inclusion(lying, HOUSEHOLD, lying.head(), WRITER.public_key())
    assert not check.valid and check.unsigned_records == list(range(1, 10))
    assert any(f.startswith(finding) for f in check.findings), check.findings


def test_a_service_without_the_writers_key_flags_nothing_the_auditor_does() -> None:
    service = Service(with_forgery(), knows_writer=False)
    assert service.chain(HOUSEHOLD)["unsigned_records"] == []
    check = check_inclusion(service, HOUSEHOLD, service.head(), WRITER.public_key())
    assert check.unsigned_records == [10]
    assert "leave out event(s) 10" in check.findings[-1]


def test_without_a_key_the_services_word_is_taken_and_said_to_be() -> None:
    service = Service(with_forgery())
    check = check_inclusion(service, HOUSEHOLD, service.head())
    assert check.writer_key_id is None and check.unsigned_records == [10]
    assert check.findings == [
        "event 10: not appended by the chain writer (no valid signature, says the service)"
    ]


def test_a_signature_over_a_changed_record_does_not_verify() -> None:
    written = clean()
    document = json.loads(written[4][0])
    other = sign_record(WRITER, "ab" * 32)
    written[4] = (canonical_json(document), (other,))
    service = Service(written)
    check = check_inclusion(service, HOUSEHOLD, service.head(), WRITER.public_key())
    assert check.unsigned_records == [5]


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def kept_head(tmp_path: Path) -> Any:
    def keep(service: Service) -> Path:
        path = tmp_path / "head.json"
        write_tree_head_file(path, service.head(), public_pem(AUDIT.public_key()), "test")
        return path

    return keep


def verify(service: Service, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setattr(cli_audit, "_client", lambda *_: _Serving(service))
    return CliRunner().invoke(
        cli, ["verify", HOUSEHOLD, *args], env={"ASSIST_CHAIN_WRITER_PUBLIC_KEY": None}
    )


class _Serving:
    def __init__(self, service: Service) -> None:
        self.service = service

    def __enter__(self) -> Service:
        return self.service

    def __exit__(self, *_: object) -> None: ...


def test_the_command_says_when_the_key_came_from_the_server(
    monkeypatch: pytest.MonkeyPatch, kept_head: Any
) -> None:
    service = Service(clean())
    result = verify(service, monkeypatch, "--checkpoint", str(kept_head(service)))
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "came from the audit service being verified" in said and "--writer-key" in said

    answer = json.loads(
        verify(service, monkeypatch, "--checkpoint", str(kept_head(service)), "--json").stdout
    )
    assert answer["writer_key_source"] == "server" and answer["valid"]


def test_the_command_with_a_pinned_key_names_the_forged_record(
    monkeypatch: pytest.MonkeyPatch, kept_head: Any, tmp_path: Path
) -> None:
    pinned = tmp_path / "writer.pub"
    pinned.write_text(public_pem(WRITER.public_key()))

    def hide(answer: dict[str, Any]) -> None:
        answer["unsigned_records"] = []

    lying = Lying(with_forgery(), hide)
    head_file = kept_head(lying)
    args = ("--checkpoint", str(head_file), "--writer-key", str(pinned))
    result = verify(lying, monkeypatch, *args)
    assert result.exit_code == 1, result.output
    assert "event 10: not appended by the chain writer" in result.stdout
    assert "came from the audit service" not in result.stdout
    report = json.loads(verify(lying, monkeypatch, *args, "--json").stdout)
    assert report["writer_key_source"] == "--writer-key"
    assert (report["unsigned_records"], report["service_unsigned_records"]) == ([10], [])
    assert report["valid"] is False and len(report["findings"]) == 2
