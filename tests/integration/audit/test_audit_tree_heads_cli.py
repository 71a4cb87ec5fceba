"""Signed tree heads end to end: the audit service (its own process, on the real broker) signs
the Merkle tree over the chain log; an auditor exports a tree head, proves a household's events
in it and a later head consistent with it, with `assist`, every proof checked on their side.

"The log after the rewrite" is a second namespace read by the same service (same key), as if
someone with write access had recreated the chain topic with altered records.

Across a restart of the audit the tree heads it signed and the witnesses' co-signatures are
read back from `assist.checkpoints`; and the chain writer's signature of each record is checked
on the auditor's side, with the writer's public key the auditor keeps.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.kafka_io import produce
from support.logins import logins_of
from support.processes import ServiceProcess
from typer.testing import CliRunner, Result
from unit.audit.audit_histories import chained, history
from unit.audit.test_audit_writer_signatures import forged_delivery

from contracts.access import AUDITOR
from contracts.topics import TopicNames
from deploy.local.tokens import ensure_tokens, role_tokens
from events.canonical import canonical_json
from events.chain import event_hash
from services.cli.__main__ import app as cli
from services.runtime.kafka import connection_options
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.signing_keys import public_pem
from services.runtime.topic_admin import ensure_topics
from services.runtime.writer_signature import PUBLIC_FILE, sign_record, writer_key_dir

Document = dict[str, Any]


def docs(household_id: str) -> list[Document]:
    return [e.to_document() for e in chained(history(household_id))]


def rewrite(documents: list[Document], sequence: int) -> list[Document]:
    """One event's content changed, every hash from it on recomputed: a valid hash chain."""
    rewritten: list[Document] = json.loads(json.dumps(documents))
    rewritten[sequence - 1]["payload"]["note"] = "rewritten"
    for n in range(sequence - 1, len(rewritten)):
        if n:
            rewritten[n]["prev_hash"] = rewritten[n - 1]["hash"]
        rewritten[n]["hash"] = event_hash(rewritten[n])
    return rewritten


class Audit:
    """The audit service over one namespace, and `assist` pointed at it."""

    def __init__(self, kafka: KafkaSettings, topics: TopicNames, workdir: Path) -> None:
        self.kafka, self.topics, self.workdir = kafka, topics, workdir
        self.tokens_file = ensure_tokens(workdir / "tokens.json")
        self.service = ServiceProcess(
            "audit",
            {
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "ASSIST_TOPIC_NAMESPACE": topics.namespace,
                "ASSIST_TOKENS_FILE": str(self.tokens_file),
                "ASSIST_DATA_DIR": str(workdir / "data"),  # the signing key lives here
                "ASSIST_CHECKPOINT_SECONDS": "0.5",
            },
            workdir,
        )

    def __enter__(self) -> Audit:
        self.service.start().wait_healthy(timeout=90)
        return self

    def __exit__(self, *_: object) -> None:
        self.service.stop()

    def assist(self, *args: str) -> Result:
        env = {
            **logins_of(self.kafka.bootstrap_servers).env(AUDITOR),
            "ASSIST_TOPIC_NAMESPACE": self.topics.namespace,
            "ASSIST_AUDIT_URL": self.service.url,
            "ASSIST_TOKENS_FILE": str(self.tokens_file),
            "ASSIST_TOKEN": None,
        }
        return CliRunner().invoke(cli, list(args), env=env)

    def get(self, path: str) -> Any:
        token = role_tokens(self.tokens_file)["auditor"]
        reply = httpx.get(
            f"{self.service.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    def tree_head_covering(self, events: int, timeout: float = 60.0) -> Document:
        """Until the latest tree head covers `events` records; that tree head."""
        token = role_tokens(self.tokens_file)["auditor"]
        deadline = time.monotonic() + timeout
        while True:
            reply = httpx.get(
                f"{self.service.url}/v1/tree-heads/latest",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            if reply.status_code == 200 and sum(t["size"] for t in reply.json()["trees"]) >= events:
                head: Document = reply.json()
                return head
            assert time.monotonic() < deadline, reply.text
            time.sleep(0.2)


@pytest.fixture
def namespace(kafka_bootstrap: str) -> tuple[KafkaSettings, TopicNames]:
    kafka = logins_of(kafka_bootstrap).admin
    topics = TopicNames(f"t{uuid.uuid4().hex[:10]}.")
    asyncio.run(ensure_topics(kafka, TopicSettings(namespace=topics.namespace, partitions=3)))
    return kafka, topics


def write(
    kafka: KafkaSettings,
    topic: str,
    chains: dict[str, list[Document]],
    writer: Ed25519PrivateKey | None = None,
) -> None:
    """Append the chains' records; with `writer`, each signed as the chain writer signs it."""
    messages = [(h.encode(), canonical_json(d)) for h, chain in chains.items() for d in chain]

    def signed(value: bytes) -> list[tuple[str, bytes]]:
        return [sign_record(writer, json.loads(value)["hash"])] if writer is not None else []

    asyncio.run(produce(kafka, topic, messages, signed))


@pytest.mark.timeout(400)
def test_an_auditor_proves_events_and_growth_and_sees_a_rewrite(
    namespace: tuple[KafkaSettings, TopicNames], tmp_path: Path
) -> None:
    kafka, topics = namespace
    chains = {h: docs(h) for h in ("HH-A", "HH-B", "HH-C")}
    write(kafka, topics.chain, chains)
    first, second = tmp_path / "head-1.json", tmp_path / "head-2.json"
    with Audit(kafka, topics, tmp_path) as audit:
        audit.tree_head_covering(27)
        exported = audit.assist("checkpoint", "tree-head", str(first))
        assert exported.exit_code == 0, exported.output
        assert len(first.read_bytes()) < 2000  # whatever the number of households

        witness_dir = tmp_path / "witness"
        seen = audit.assist("checkpoint", "witness", "--state", str(witness_dir))
        assert seen.exit_code == 0, seen.output
        assert "the first this witness saw" in " ".join(seen.stdout.split())

        proven = audit.assist("verify", "HH-A", "--checkpoint", str(first), "--json")
        assert proven.exit_code == 0, proven.output
        report = json.loads(proven.stdout)
        assert (report["in_tree_head"], report["after_tree_head"]) == (9, 0)

        write(kafka, topics.chain, {"HH-D": docs("HH-D"), "HH-E": docs("HH-E")})
        audit.tree_head_covering(45)
        assert audit.assist("checkpoint", "tree-head", str(second)).exit_code == 0
        # The whole log, read from Kafka and its trees rebuilt on the auditor's side.
        whole = audit.assist("verify", "--all", "--checkpoint", str(first), "--json")
        assert whole.exit_code == 0, whole.output
        assert json.loads(whole.stdout)["log_findings"] == []
        grown = audit.assist("checkpoint", "consistency", str(first), str(second))
        assert grown.exit_code == 0, grown.output
        assert "consistent" in grown.stdout and "only grew" in grown.stdout
        # The witness checks the growth itself, then co-signs; the service keeps and shows it.
        again = audit.assist("checkpoint", "witness", "--state", str(witness_dir), "--json")
        assert again.exit_code == 0, again.output
        witnessed = json.loads(again.stdout)
        assert witnessed["previous_tree_head_id"] is not None
        shown = audit.get(f"/v1/tree-heads/{witnessed['tree_head_id']}/witnesses")
        assert [w["witness_key_id"] for w in shown] == [witnessed["witness_key_id"]]
        # A household appended after the older head: its events are counted, not proven.
        later = json.loads(
            audit.assist("verify", "HH-D", "--checkpoint", str(first), "--json").stdout
        )
        assert later["valid"] and (later["in_tree_head"], later["after_tree_head"]) == (0, 9)

        # A kept head doctored after export does not verify: nothing is checked against it.
        doctored = json.loads(first.read_text())
        doctored["tree_head"]["trees"][0]["size"] += 1
        forged_file = tmp_path / "doctored.json"
        forged_file.write_text(json.dumps(doctored))
        refused = audit.assist("verify", "HH-A", "--checkpoint", str(forged_file))
        # The message is wrapped to the terminal's width, wherever the path makes it break.
        assert refused.exit_code == 1 and "does not verify" in " ".join(refused.stderr.split())

    # The log recreated by someone who can write it: HH-A's 4th event rewritten (every hash
    # after it recomputed), the rest as it was.
    after = TopicNames(topics.namespace + "after.")
    asyncio.run(ensure_topics(kafka, TopicSettings(namespace=after.namespace, partitions=3)))
    write(kafka, after.chain, chains | {"HH-A": rewrite(chains["HH-A"], 4)})
    rewritten = tmp_path / "head-rewritten.json"
    with Audit(kafka, after, tmp_path) as audit:
        audit.tree_head_covering(27)
        assert audit.assist("verify", "HH-A").exit_code == 0  # the hash chain alone sees nothing
        caught = audit.assist("verify", "HH-A", "--checkpoint", str(first), "--json")
        assert caught.exit_code == 1, caught.output
        findings = json.loads(caught.stdout)["findings"]
        assert findings and all("not in the log as the tree head signed it" in f for f in findings)
        assert audit.assist("checkpoint", "tree-head", str(rewritten)).exit_code == 0
        refused = audit.assist("checkpoint", "witness", "--state", str(witness_dir))
        said = " ".join(refused.stderr.split())
        assert refused.exit_code == 1 and "not co-signed" in said, refused.output
        broken = audit.assist("checkpoint", "consistency", str(first), str(rewritten), "--json")
        assert broken.exit_code == 1, broken.output
        problems = json.loads(broken.stdout)["problems"]
        assert len(problems) == 1 and "rewritten or reordered" in problems[0], problems
        whole = audit.assist("verify", "--all", "--checkpoint", str(first), "--json")
        assert whole.exit_code == 1, whole.output
        report = json.loads(whole.stdout)
        assert report["broken"] == []  # every hash chain is valid
        [problem] = report["log_findings"]
        assert problem.startswith("partition ") and "rewritten or reordered" in problem


@pytest.mark.timeout(400)
def test_witnesses_survive_a_restart_and_the_auditor_checks_the_writers_signatures(
    namespace: tuple[KafkaSettings, TopicNames], tmp_path: Path
) -> None:
    kafka, topics = namespace
    writer = Ed25519PrivateKey.generate()
    # The chain writer's public key: where the audit finds it, and the auditor's own copy.
    served = writer_key_dir(tmp_path / "data") / PUBLIC_FILE
    served.parent.mkdir(parents=True)
    served.write_text(public_pem(writer.public_key()))
    pinned = tmp_path / "kept-writer-key.pem"
    pinned.write_text(public_pem(writer.public_key()))
    chains = {h: docs(h) for h in ("HH-A", "HH-B", "HH-C")}
    write(kafka, topics.chain, chains, writer)
    kept, later = tmp_path / "head-1.json", tmp_path / "head-2.json"
    witness_dir = tmp_path / "witness"
    with Audit(kafka, topics, tmp_path) as audit:
        before_restart = audit.tree_head_covering(27)
        assert audit.assist("checkpoint", "tree-head", str(kept)).exit_code == 0
        seen = audit.assist("checkpoint", "witness", "--state", str(witness_dir), "--json")
        assert seen.exit_code == 0, seen.output
        witnessed = json.loads(seen.stdout)
        path = f"/v1/tree-heads/{witnessed['tree_head_id']}/witnesses"
        cosigned = audit.get(path)
        assert [w["witness_key_id"] for w in cosigned] == [witnessed["witness_key_id"]]

        audit.service.stop()
        audit.service.start().wait_healthy(timeout=90)
        # Read back from assist.checkpoints: the tree head and its co-signature are still there.
        assert audit.get(path) == cosigned
        # The tree rebuilt from the log extends the last head signed: a new one is signed.
        deadline = time.monotonic() + 60
        while audit.get("/v1/tree-heads/latest")["tree_head_id"] == before_restart["tree_head_id"]:
            assert time.monotonic() < deadline, audit.service.log_tail()
            time.sleep(0.2)
        assert "does not extend" not in audit.service.log_tail(400)
        again = audit.assist("checkpoint", "witness", "--state", str(witness_dir), "--json")
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["previous_tree_head_id"] == witnessed["tree_head_id"]

        # A clean chain: every signature checked on the auditor's side, with the kept key.
        clean = audit.assist(
            "verify", "HH-A", "--checkpoint", str(kept), "--writer-key", str(pinned), "--json"
        )
        assert clean.exit_code == 0, clean.output
        report = json.loads(clean.stdout)
        assert report["writer_key_source"] == "--writer-key" and report["unsigned_records"] == []
        assert report["in_tree_head"] == 9

        # Appended by someone without the writer's key, its hash link made correctly.
        write(kafka, topics.chain, {"HH-B": [forged_delivery(chains["HH-B"][-1])]})
        audit.tree_head_covering(28)
        assert audit.assist("checkpoint", "tree-head", str(later)).exit_code == 0
        caught = audit.assist(
            "verify", "HH-B", "--checkpoint", str(later), "--writer-key", str(pinned), "--json"
        )
        assert caught.exit_code == 1, caught.output
        report = json.loads(caught.stdout)
        assert report["unsigned_records"] == report["service_unsigned_records"] == [10]
        assert report["findings"] == [
            "event 10: not appended by the chain writer (no chain writer's signature)"
        ]
        assert report["chain_valid"] and report["in_tree_head"] == 10
        # Without --writer-key the key the service serves is used, and said to be.
        fetched = audit.assist("verify", "HH-B", "--checkpoint", str(later))
        assert fetched.exit_code == 1, fetched.output
        said = " ".join(fetched.stdout.split())
        assert "event 10: not appended by the chain writer" in said
        assert "came from the audit service being verified" in said


async def recreate(kafka: KafkaSettings, topics: TopicNames, topic: str) -> None:
    """Delete `topic` and create it again, empty: what someone administering Kafka can do."""
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    try:
        await admin.delete_topics([topic])
        while topic in await admin.list_topics():
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    await ensure_topics(kafka, TopicSettings(namespace=topics.namespace, partitions=3))


@pytest.mark.timeout(400)
def test_an_audit_restarted_over_a_rewritten_log_signs_nothing_and_says_so(
    namespace: tuple[KafkaSettings, TopicNames], tmp_path: Path
) -> None:
    kafka, topics = namespace
    chains = {h: docs(h) for h in ("HH-A", "HH-B", "HH-C")}
    write(kafka, topics.chain, chains)
    audit = Audit(kafka, topics, tmp_path)
    with audit:
        signed = audit.tree_head_covering(27)["tree_head_id"]
    # The chain topic recreated behind the audit's back, HH-A's 4th event rewritten (every hash
    # after it recomputed); assist.checkpoints, with the tree head signed, stays.
    asyncio.run(recreate(kafka, topics, topics.chain))
    write(kafka, topics.chain, chains | {"HH-A": rewrite(chains["HH-A"], 4)})
    operator = {"Authorization": f"Bearer {role_tokens(audit.tokens_file)['operator']}"}
    audit.service.start()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"{audit.service.url}/healthz", headers=operator, timeout=5)
                if health.json().get("problems"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, audit.service.log_tail(own_only=True)
            time.sleep(0.3)
        assert health.status_code == 503
        [problem] = health.json()["problems"]
        assert f"does not extend tree head {signed}" in problem, problem
        assert "rewritten or reordered" in problem
        assert all(p["state"] == "running" for p in health.json()["processors"])
        # Nothing new is signed: the last tree head stays the one before the rewrite.
        time.sleep(2)
        assert audit.get("/v1/tree-heads/latest")["tree_head_id"] == signed
        metrics = httpx.get(f"{audit.service.url}/metrics", headers=operator, timeout=5).text
        assert "assist_audit_tree_head_contradicted 1.0" in metrics
        assert "the chain log does not extend the last tree head signed" in (
            audit.service.log_tail(200, own_only=True)
        )
    finally:
        audit.service.stop()

    # An operator who has looked into it accepts the log as it is: signed again from there.
    audit.service.env["ASSIST_AUDIT_ACCEPT_CONTRADICTED_TREE_HEAD"] = signed
    with audit:
        deadline = time.monotonic() + 60
        while audit.get("/v1/tree-heads/latest")["tree_head_id"] == signed:
            assert time.monotonic() < deadline, audit.service.log_tail(own_only=True)
            time.sleep(0.2)


@pytest.mark.timeout(400)
def test_no_false_alarm_over_ten_thousand_clean_chains(
    namespace: tuple[KafkaSettings, TopicNames], tmp_path: Path
) -> None:
    kafka, topics = namespace
    households = [f"HH-{n:05d}" for n in range(10_000)]
    chains = {h: [e.to_document() for e in chained(history(h)[:3])] for h in households}
    write(kafka, topics.chain, chains)
    kept = tmp_path / "head.json"
    with Audit(kafka, topics, tmp_path) as audit:
        audit.tree_head_covering(30_000, timeout=120)
        assert audit.assist("checkpoint", "tree-head", str(kept)).exit_code == 0
        whole = audit.assist("verify", "--all", "--checkpoint", str(kept), "--json")
        assert whole.exit_code == 0, whole.output
        report = json.loads(whole.stdout)
        assert (report["households"], report["broken"], report["log_findings"]) == (10_000, [], [])
        for household in households[::500]:
            one = audit.assist("verify", household, "--checkpoint", str(kept), "--json")
            assert one.exit_code == 0, one.output
            assert json.loads(one.stdout)["in_tree_head"] == 3
