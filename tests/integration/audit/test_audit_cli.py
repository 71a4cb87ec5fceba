"""`assist chain / verify / checkpoint export / replay` against a running audit service
(`python -m services.audit` as its own process) and the real broker."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.kafka_io import produce
from support.logins import logins_of
from support.processes import ServiceProcess
from typer.testing import CliRunner, Result
from unit.audit.audit_histories import R_ALLOWANCE, chained, history

from contracts.access import AUDITOR
from contracts.topics import TopicNames
from deploy.local.tokens import ensure_tokens, role_tokens
from events.canonical import canonical_json
from services.audit.checkpoint_file import read_checkpoint_file
from services.audit.domain.checkpoint import verify_checkpoint
from services.cli.__main__ import app as cli
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

HOUSEHOLDS = ["HH-A", "HH-B", "HH-C"]
BROKEN = "HH-BROKEN"


@dataclass
class Stack:
    kafka: KafkaSettings
    topics: TopicNames
    service: ServiceProcess
    tokens: dict[str, str]
    tokens_file: Path

    def assist(self, *args: str, **env: str) -> Result:
        base = {
            **logins_of(self.kafka.bootstrap_servers).env(AUDITOR),
            "ASSIST_TOPIC_NAMESPACE": self.topics.namespace,
            "ASSIST_AUDIT_URL": self.service.url,
            "ASSIST_TOKENS_FILE": str(self.tokens_file),
            "ASSIST_TOKEN": None,
        }
        return CliRunner().invoke(cli, list(args), env={**base, **env})

    def wait_for_checkpoint(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            reply = httpx.get(
                f"{self.service.url}/v1/checkpoints/latest",
                timeout=10,
                headers={"Authorization": f"Bearer {self.tokens['auditor']}"},
            )
            if reply.status_code == 200:
                return
            assert time.monotonic() < deadline, f"no checkpoint after {timeout:g} s: {reply.text}"
            time.sleep(0.2)

    def get(self, path: str) -> Any:
        reply = httpx.get(
            f"{self.service.url}{path}",
            timeout=10,
            headers={"Authorization": f"Bearer {self.tokens['auditor']}"},
        )
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    kafka = logins_of(kafka_bootstrap).admin
    topics = TopicNames(f"c{uuid.uuid4().hex[:10]}.")
    asyncio.run(ensure_topics(kafka, TopicSettings(namespace=topics.namespace, partitions=3)))
    chains = {h: [e.to_document() for e in chained(history(h))] for h in [*HOUSEHOLDS, BROKEN]}
    del chains[BROKEN][3]  # a removed event: the chain breaks at sequence 4
    asyncio.run(
        produce(
            kafka,
            topics.chain,
            [(h.encode(), canonical_json(d)) for h, chain in chains.items() for d in chain],
        )
    )
    workdir = tmp_path_factory.mktemp("audit-cli")
    tokens_file = ensure_tokens(workdir / "tokens.json")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ASSIST_TOPIC_NAMESPACE": topics.namespace,
        "ASSIST_TOKENS_FILE": str(tokens_file),
        "ASSIST_DATA_DIR": str(workdir / "data"),
        "ASSIST_CHECKPOINT_SECONDS": "0.5",
    }
    service = ServiceProcess("audit", env, workdir).start()
    try:
        service.wait_healthy(timeout=90)
        stack = Stack(kafka, topics, service, role_tokens(tokens_file), tokens_file)
        stack.wait_for_checkpoint()  # caught up is not yet checkpointed: the export needs one
        yield stack
    finally:
        service.stop()


def test_chain_prints_a_timeline_with_the_rule_trace_and_referral_outcomes(stack: Stack) -> None:
    result = stack.assist("chain", "HH-A")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for expected in (
        "HouseholdClassified",
        "decided by dibao",
        "pci=700.00",
        "policy 2027-v1",
        "DELIVERED",
        "cash 1240.00",
        "not_covered",
        "chain valid: 9 events",
    ):
        assert expected in text, expected


def test_chain_json_is_for_scripts(stack: Stack) -> None:
    result = stack.assist("chain", "HH-A", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [row["sequence"] for row in body["timeline"]] == list(range(1, 10))
    assert body["verification"]["valid"] and body["state"]["tier"] == "MARGINAL"
    assert [d["referral_id"] for d in body["state"]["delivered"]] == [R_ALLOWANCE]


def test_chain_of_a_broken_chain_exits_1(stack: Stack) -> None:
    result = stack.assist("chain", BROKEN)
    assert result.exit_code == 1 and "BROKEN at sequence 4" in " ".join(result.stdout.split())


def test_verify_one_household(stack: Stack) -> None:
    ok = stack.assist("verify", "HH-B", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["valid"] is True
    broken = stack.assist("verify", BROKEN, "--json")
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_bad_sequence"] == 4


def test_verify_all_names_the_first_broken_link(stack: Stack) -> None:
    result = stack.assist("verify", "--all")
    assert result.exit_code == 1, result.output
    text = " ".join(result.stdout.split())
    assert "1 broken chains" in text and BROKEN in text and "4 was expected" in text


def test_usage_and_connection_errors_exit_2(stack: Stack) -> None:
    assert stack.assist("verify").exit_code == 2
    assert stack.assist("verify", "HH-A", "--all").exit_code == 2
    assert stack.assist("replay").exit_code == 2
    missing = stack.assist("verify", "HH-NOPE")
    assert missing.exit_code == 2 and "no chain for household 'HH-NOPE'" in missing.stderr
    down = stack.assist("verify", "HH-A", "--url", "http://127.0.0.1:9")
    assert down.exit_code == 2 and "cannot reach the audit service" in down.stderr
    refused = stack.assist("verify", "HH-A", "--token", "wrong")
    assert refused.exit_code == 2 and "refused the token (401)" in refused.stderr
    no_kafka = stack.assist("verify", "--all", "--bootstrap", "127.0.0.1:9")
    assert no_kafka.exit_code == 2 and "cannot read the chain log" in no_kafka.stderr
    no_tokens = stack.assist("verify", "HH-A", ASSIST_TOKENS_FILE="/nonexistent/tokens.json")
    assert no_tokens.exit_code == 2 and "no token" in no_tokens.stderr


def test_checkpoint_export_writes_a_verifiable_file(stack: Stack, tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.json"
    result = stack.assist("checkpoint", "export", str(target), "--json")
    assert result.exit_code == 0, result.output
    checkpoint, key = read_checkpoint_file(target)
    assert verify_checkpoint(checkpoint, key) == []
    assert checkpoint.households == 4 and json.loads(result.stdout)["events"] == 35
    assert stack.get("/v1/checkpoints/public-key")["key_id"] == checkpoint.key_id
    again = stack.assist("checkpoint", "export", str(target))
    assert again.exit_code == 2 and "--force" in again.output
    assert stack.assist("checkpoint", "export", str(target), "--force").exit_code == 0

    against = stack.assist("verify", "HH-A", "--checkpoint", str(target), "--json")
    assert against.exit_code == 0, against.output
    assert json.loads(against.stdout)["checkpoint_findings"] == []


def test_replay_rebuilds_from_the_log_and_reports_events_per_second(stack: Stack) -> None:
    result = stack.assist("replay", "--rebuild", "--json")
    assert result.exit_code == 1, result.output  # one chain in this log is broken
    report = json.loads(result.stdout)
    assert (report["households"], report["events"]) == (4, 35)
    assert report["events_per_second"] > 0
    # The rebuilt heads are those the service signs: the same Merkle root.
    assert report["merkle_root"] == stack.get("/v1/checkpoints/latest")["merkle_root"]
    text = stack.assist("replay", "--rebuild").stdout
    assert "events/s" in text


def test_replay_can_rebuild_the_service_index(stack: Stack) -> None:
    before = stack.get("/v1/households/HH-C/state")
    result = stack.assist("replay", "--rebuild", "--service", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"] == 35
    assert stack.get("/v1/households/HH-C/state") == before
