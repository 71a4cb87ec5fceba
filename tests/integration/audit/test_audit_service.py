"""The audit service on the real broker: chain, verify, state as of, access records, checkpoints,
rebuilds, and reading chains from the log when they are not in memory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from integration.audit.audit_running import (
    RunningAudit,
    messages,
    running_audit,
    running_chainwriter,
)
from prometheus_client import REGISTRY
from support.kafka_io import produce, read_all, read_documents, wait_for_documents
from unit.audit.audit_histories import R_ALLOWANCE, R_MEDICAL, at, chained, history

from contracts.topics import TopicNames
from events.audit import Checkpoint, TreeHead
from events.canonical import canonical_json
from services.audit.domain.checkpoint import assemble, verify_checkpoint
from services.audit.domain.tree_head import verify_tree_head
from services.runtime.settings import KafkaSettings
from services.runtime.signing_keys import load_public_pem

HH = "HH-AUDIT"
READS_METRIC = "assist_audit_chain_reads_total"


async def answers(audit: RunningAudit, households: list[str]) -> dict[str, Any]:
    """Everything the service says about these households (to compare before and after)."""
    out: dict[str, Any] = {}
    for household_id in households:
        base = f"/v1/households/{household_id}"
        out[household_id] = {
            "chain": await audit.get(f"{base}/chain"),
            "verify": await audit.get(f"{base}/chain/verify"),
            "state": await audit.get(f"{base}/state"),
            "state_15": await audit.get(f"{base}/state", as_of=at(15).isoformat()),
        }
    return out


async def test_a_chain_written_by_the_chain_writer_is_read_verified_and_folded(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    await produce(kafka, topics.events, messages(history(HH)))
    async with running_chainwriter(kafka, topics):
        stored = await wait_for_documents(kafka, topics.chain, 9)
    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(9)
        chain = await audit.get(f"/v1/households/{HH}/chain")
        assert chain["length"] == 9 and chain["events"] == stored
        assert [e["sequence"] for e in chain["events"]] == list(range(1, 10))

        verified = await audit.get(f"/v1/households/{HH}/chain/verify")
        assert verified == {
            "household_id": HH,
            "valid": True,
            "length": 9,
            "head_hash": stored[-1]["hash"],
            "first_bad_sequence": None,
            "reason": None,
        }

        before = await audit.get(f"/v1/households/{HH}/state", as_of=at(15).isoformat())
        assert before["sequence"] == 5 and before["delivered"] == []
        assert {r["referral_id"]: r["status"] for r in before["referrals"]} == {
            R_ALLOWANCE: "accepted",
            R_MEDICAL: "open",
        }
        assert (before["tier"], before["policy_version"]) == ("DIBAO", "2026-v1")

        after = await audit.get(f"/v1/households/{HH}/state", as_of=at(25).isoformat())
        assert [(d["referral_id"], d["cash_amount"]) for d in after["delivered"]] == [
            (R_ALLOWANCE, "1240.00")
        ]
        assert after["head_hash"] == stored[5]["hash"]


async def test_a_household_re_screened_under_a_newer_policy(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    await produce(kafka, topics.chain, messages(chained(history(HH))))
    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(9)
        now = await audit.get(f"/v1/households/{HH}/state")
        assert (now["tier"], now["policy_version"]) == ("MARGINAL", "2027-v1")
        assert [(c["policy_version"], c["tier"]) for c in now["classifications"]] == [
            ("2026-v1", "DIBAO"),
            ("2027-v1", "MARGINAL"),
        ]
        assert now["settled"] and now["classification"]["decided_by"] == "marginal"
        then = await audit.get(f"/v1/households/{HH}/state", as_of=at(39).isoformat())
        assert (then["tier"], then["policy_version"]) == ("DIBAO", "2026-v1")


async def test_tokens_roles_unknown_households_and_bad_instants(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    await produce(kafka, topics.chain, messages(chained(history(HH))))
    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(9)
        path = f"/v1/households/{HH}/chain"
        assert (await audit.http.get(path)).status_code == 401
        assert (await audit.http.get(path, headers=audit.auth("intake"))).status_code == 403
        assert (
            await audit.http.get(path, headers=audit.auth("department:civil_affairs"))
        ).status_code == 403
        # Operators watch processors: a household's file is for auditors (issue 13).
        for read in (path, f"/v1/households/{HH}/state"):
            refused = await audit.http.get(read, headers=audit.auth("operator"))
            assert refused.status_code == 403 and "auditor" in refused.json()["detail"]
        # Verifying reveals nothing of what the events say: hashes, positions, a count.
        verified = await audit.get(f"/v1/households/{HH}/chain/verify", role="operator")
        assert set(verified) == {
            "household_id",
            "valid",
            "length",
            "head_hash",
            "first_bad_sequence",
            "reason",
        }
        missing = await audit.http.get("/v1/households/HH-NOPE/chain/verify", headers=audit.auth())
        assert missing.status_code == 404 and "HH-NOPE" in missing.json()["detail"]
        naive = await audit.http.get(
            f"/v1/households/{HH}/state",
            headers=audit.auth(),
            params={"as_of": "2026-11-01T09:15:00"},
        )
        assert naive.status_code == 422 and naive.json()["fields"][0]["field"] == "as_of"
        paths = (await audit.http.get("/openapi.json")).json()["paths"]
        assert {
            "/v1/households/{household_id}/chain",
            "/v1/households/{household_id}/state",
            "/v1/households/{household_id}/chain/verify",
            "/v1/checkpoints/latest",
            "/v1/checkpoints/public-key",
        } <= set(paths)


async def test_every_read_is_recorded_with_role_and_token_fingerprint(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    await produce(kafka, topics.chain, messages(chained(history(HH))))
    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(9)
        await audit.get(f"/v1/households/{HH}/chain")
        await audit.get(f"/v1/households/{HH}/chain/verify", role="operator")
        await audit.get(f"/v1/households/{HH}/state", as_of=at(15).isoformat())
        await audit.http.get("/v1/households/HH-NOPE/chain", headers=audit.auth())
        await audit.http.get(f"/v1/households/{HH}/chain")  # no token: refused, not a read
        tokens = audit.tokens
    records = await wait_for_documents(kafka, topics.audit_access, 4)
    assert len(records) == 4
    assert [(r["household_id"], r["resource"], r["role"], r["found"]) for r in records] == [
        (HH, "chain", "auditor", True),
        (HH, "verify", "operator", True),
        (HH, "state", "auditor", True),
        ("HH-NOPE", "chain", "auditor", False),
    ]
    assert (
        records[0]["token_fingerprint"]
        == hashlib.sha256(tokens["auditor"].encode()).hexdigest()[:16]
    )
    assert records[2]["as_of"] == at(15).isoformat().replace("+00:00", "Z")
    raw = json.dumps(records)
    assert all(token not in raw for token in tokens.values())


async def test_signed_checkpoints_are_published_in_parts_and_served(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    households = ["HH-1", "HH-2", "HH-3"]
    chains = {h: chained(history(h)) for h in households}
    await produce(kafka, topics.chain, [m for h in households for m in messages(chains[h])])
    async with running_audit(
        kafka, topics, tmp_path, every_events=5, seconds=0.5, heads_per_part=2
    ) as audit:
        await audit.wait_events(27)
        latest = Checkpoint.model_validate(await audit.wait_checkpoint(27))
        published_records = await read_all(kafka, topics.checkpoints)
        key = await audit.get("/v1/checkpoints/public-key")
        latest_head = TreeHead.model_validate(await audit.get("/v1/tree-heads/latest"))
    public = load_public_pem(key["public_key_pem"])
    assert key["key_id"] == latest.key_id and verify_checkpoint(latest, public) == []
    assert (latest.households, latest.events) == (3, 27)
    assert {h.household_id: (h.length, h.head_hash) for h in latest.heads} == {
        h: (9, chains[h][-1].hash) for h in households
    }
    # Two kinds of message on the topic, told apart by their key.
    assert {r.key for r in published_records} == {b"checkpoint", b"tree-head"}
    parts = [json.loads(r.value) for r in published_records if r.key == b"checkpoint"]
    heads = [
        TreeHead.model_validate_json(r.value) for r in published_records if r.key == b"tree-head"
    ]
    assert latest_head in heads and verify_tree_head(latest_head, public) == []
    assert sum(t.size for t in latest_head.trees) == 27
    mine = [p for p in parts if p["checkpoint_id"] == str(latest.checkpoint_id)]
    published = [Checkpoint.model_validate(p) for p in mine]
    assert [(p.part, p.parts) for p in published] == [(1, 2), (2, 2)]
    assert assemble(published) == latest
    assert canonical_json(mine[0]) == canonical_json(published[0].model_dump(mode="json"))
    assert (tmp_path / "data" / "audit" / "checkpoint-signing.key").stat().st_mode & 0o077 == 0


async def test_a_rebuild_from_an_empty_index_and_a_restart_give_the_same_answers(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    households = [f"HH-{n}" for n in range(6)]
    await produce(
        kafka, topics.chain, [m for h in households for m in messages(chained(history(h)))]
    )
    async with running_audit(kafka, topics, tmp_path) as audit:
        await audit.wait_events(54)
        before = await answers(audit, households)
        old_index = audit.indexer.index
        reply = await audit.http.post("/v1/index/rebuild", headers=audit.auth("operator"))
        assert reply.status_code == 200, reply.text
        assert reply.json()["events"] == 54 and reply.json()["households"] == 6
        # An operator's action that reveals no data: counts and a rate.
        assert set(reply.json()) == {
            "events",
            "households",
            "records_read",
            "seconds",
            "events_per_second",
        }
        assert audit.indexer.index is not old_index
        status = await audit.get("/v1/index", role="operator")
        assert (status["households"], status["events"], status["cached_households"]) == (6, 54, 6)
        assert await answers(audit, households) == before
        key_id = (await audit.get("/v1/checkpoints/public-key"))["key_id"]
        # Events arriving after the rebuild are folded into the new index, once.
        await produce(kafka, topics.chain, messages(chained(history("HH-LATE"))))
        await audit.wait_events(63)
        assert audit.indexer.index.events == 63
    async with running_audit(kafka, topics, tmp_path) as restarted:
        await restarted.wait_events(63)
        assert await answers(restarted, households) == before
        assert (await restarted.get("/v1/checkpoints/public-key"))["key_id"] == key_id


async def test_chains_not_in_memory_are_read_from_the_log_with_the_same_answers(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    households = [f"HH-{n}" for n in range(5)]
    # Interleaved on the log, as many households' events are.
    chains = [messages(chained(history(h))) for h in households]
    await produce(kafka, topics.chain, [m for step in zip(*chains, strict=True) for m in step])
    stored = await read_documents(kafka, topics.chain)
    from_log = REGISTRY.get_sample_value(READS_METRIC, {"source": "log"}) or 0.0
    async with running_audit(kafka, topics, tmp_path, cache_mb=0) as audit:
        await audit.wait_events(45)
        assert len(audit.indexer.index.cache) == 0
        for household_id in households:
            chain = await audit.get(f"/v1/households/{household_id}/chain")
            assert chain["events"] == [d for d in stored if d["household_id"] == household_id]
            verified = await audit.get(f"/v1/households/{household_id}/chain/verify")
            assert verified["valid"] and verified["length"] == 9
    assert REGISTRY.get_sample_value(READS_METRIC, {"source": "log"}) == from_log + 10
