"""Tampering with the chain log, written straight to the chain topic of a test namespace.

Edits, removals and reorderings are named by the hash chain itself (first bad sequence); a cut
tail or a whole rewrite with recomputed hashes only by an earlier signed checkpoint, kept
outside the system (here: a file). "The log after the rewrite" is a second namespace, as if
someone with write access had recreated the topic with the altered chains.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from integration.audit.audit_running import running_audit
from support.kafka_io import produce
from support.logins import logins_of
from typer.testing import CliRunner, Result
from unit.audit.audit_histories import chained, history, settled

from contracts.access import AUDITOR
from contracts.topics import TopicNames
from events.audit import Checkpoint
from events.canonical import canonical_json
from events.chain import event_hash
from events.envelope import Envelope
from services.audit.checkpoint_file import write_checkpoint_file
from services.cli.__main__ import app as cli
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

Document = dict[str, Any]


def docs(household_id: str, events: list[Envelope] | None = None) -> list[Document]:
    return [e.to_document() for e in chained(events or history(household_id))]


def forge(document: Document, rehash: bool = False) -> Document:
    forged: Document = json.loads(json.dumps(document))
    forged["payload"]["delivered"] = {"cash_amount": "9999.00"}
    if rehash:
        forged["hash"] = event_hash(forged)
    return forged


async def write(kafka: KafkaSettings, topic: str, chains: dict[str, list[Document]]) -> None:
    await produce(
        kafka,
        topic,
        [(h.encode(), canonical_json(d)) for h, chain in chains.items() for d in chain],
    )


async def assist(kafka: KafkaSettings, topics: TopicNames, *args: str) -> Result:
    """`assist ...` as a user runs it (in a thread: it runs its own event loop)."""
    env = {
        **logins_of(kafka.bootstrap_servers).env(AUDITOR),
        "ASSIST_TOPIC_NAMESPACE": topics.namespace,
    }
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


async def test_forged_removed_and_reordered_events_are_named_by_sequence(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    forged, rehashed, appended = docs("HH-FORGED"), docs("HH-REHASHED"), docs("HH-APPENDED")
    removed, swapped = docs("HH-REMOVED"), docs("HH-SWAPPED")
    forged[5] = forge(forged[5])  # same sequence, changed payload, stale hash
    rehashed[5] = forge(rehashed[5], rehash=True)  # hash recomputed: the next link breaks
    appended.append(forge(appended[5], rehash=True))  # a second "event 6" after the chain
    del removed[3]
    swapped[5], swapped[6] = swapped[6], swapped[5]
    chains = {
        "HH-FORGED": forged,
        "HH-REHASHED": rehashed,
        "HH-APPENDED": appended,
        "HH-REMOVED": removed,
        "HH-SWAPPED": swapped,
        "HH-CLEAN": docs("HH-CLEAN"),
    }
    await write(kafka, topics.chain, chains)
    expected = {
        "HH-FORGED": 6,
        "HH-REHASHED": 7,
        "HH-APPENDED": 10,
        "HH-REMOVED": 4,
        "HH-SWAPPED": 6,
    }

    result = await assist(kafka, topics, "verify", "--all", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert {b["household_id"]: b["first_bad_sequence"] for b in report["broken"]} == expected
    assert report["households"] == 6 and not report["valid"]

    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(sum(len(c) for c in chains.values()))
        for household_id, chain in chains.items():
            verified = await audit.get(f"/v1/households/{household_id}/chain/verify")
            assert verified["first_bad_sequence"] == expected.get(household_id), verified
            assert verified["valid"] == (household_id == "HH-CLEAN")
            assert verified["length"] == len(chain)
        reason = (await audit.get("/v1/households/HH-FORGED/chain/verify"))["reason"]
        assert reason == "hash does not match the event's content"


async def test_no_false_alarm_on_a_thousand_clean_chains(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    households = [f"HH-{n:04d}" for n in range(1000)]
    await write(kafka, topics.chain, {h: docs(h, history(h)[:3]) for h in households})

    result = await assist(kafka, topics, "verify", "--all", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["households"], report["events"], report["broken"]) == (1000, 3000, [])

    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(3000)
        took = []
        for household_id in households:
            started = time.perf_counter()
            verified = await audit.get(f"/v1/households/{household_id}/chain/verify")
            took.append(time.perf_counter() - started)
            assert verified["valid"] and verified["length"] == 3, verified
    took.sort()
    print(
        f"verify over HTTP (in-process): p50 {took[500] * 1000:.1f} ms, "
        f"p99 {took[990] * 1000:.1f} ms"
    )


async def test_a_chain_cut_short_or_rewritten_is_named_against_an_earlier_checkpoint(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    names = ["HH-KEEP", "HH-GROWN", "HH-CUT", "HH-REWRITTEN", "HH-GONE"]
    await write(kafka, topics.chain, {h: docs(h) for h in names})
    async with running_audit(kafka, topics, tmp_path, every_events=1, seconds=0.2) as audit:
        await audit.wait_events(45)
        checkpoint = Checkpoint.model_validate(await audit.wait_checkpoint(45))
        pem = (await audit.get("/v1/checkpoints/public-key"))["public_key_pem"]
    kept = tmp_path / "kept-checkpoint.json"
    write_checkpoint_file(kept, checkpoint, pem, "test")

    after = TopicNames(topics.namespace + "after.")
    await ensure_topics(kafka, TopicSettings(namespace=after.namespace, partitions=3))
    rewritten = history("HH-REWRITTEN")
    rewritten[5] = rewritten[5].model_copy(
        update={
            "payload": rewritten[5].payload.model_copy(
                update={
                    "delivered": rewritten[5].payload.delivered.model_copy(  # type: ignore[attr-defined]
                        update={"cash_amount": Decimal("2480.00")}
                    )
                }
            )
        }
    )
    await write(
        kafka,
        after.chain,
        {
            "HH-KEEP": docs("HH-KEEP"),
            "HH-GROWN": docs("HH-GROWN", [*history("HH-GROWN"), settled("HH-GROWN", 50, [])]),
            "HH-CUT": docs("HH-CUT")[:5],
            "HH-REWRITTEN": docs("HH-REWRITTEN", rewritten),  # every hash recomputed: valid chain
        },
    )

    alone = await assist(kafka, after, "verify", "--all", "--json")
    assert alone.exit_code == 0, alone.output  # the hash chains alone cannot see any of it

    result = await assist(kafka, after, "verify", "--all", "--checkpoint", str(kept), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["broken"] == []
    assert {f["household_id"]: f["problem"] for f in report["checkpoint_findings"]} == {
        "HH-CUT": "truncated",
        "HH-REWRITTEN": "rewritten",
        "HH-GONE": "missing",
    }

    same = await assist(kafka, topics, "verify", "--all", "--checkpoint", str(kept))
    assert same.exit_code == 0, same.output
    assert "every chain is valid and extends the checkpoint" in same.stdout

    document = json.loads(kept.read_text())
    document["checkpoint"]["heads"] = document["checkpoint"]["heads"][1:]
    document["checkpoint"]["households"] -= 1
    kept.write_text(json.dumps(document))
    doctored = await assist(kafka, topics, "verify", "--all", "--checkpoint", str(kept))
    assert doctored.exit_code == 1 and "does not verify" in doctored.stderr
