"""The policy service on the real broker: the shipped standards become the first version once,
a version proposed by one user is approved by another, and both are events on assist.policy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from support.kafka_io import read_documents

from contracts.topics import TopicNames
from deploy.local.tokens import ensure_tokens, token_of
from events.clock import ClockMode
from services.policy.bootstrap import build
from services.rules.standards import SHIPPED_BY, shipped_proposal
from services.runtime.clock import ClockSettings
from services.runtime.settings import KafkaSettings, ServiceSettings


@contextlib.asynccontextmanager
async def running_policy(
    kafka: KafkaSettings, topics: TopicNames, tokens_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(tokens_file=tokens_file)
    parts = build(kafka, topics, settings, ClockSettings(clock=ClockMode.WALL))
    assert parts.on_start is not None and parts.on_stop is not None
    await parts.on_start()
    (processor,) = parts.processors
    task = asyncio.create_task(processor.run())
    transport = httpx.ASGITransport(app=parts.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://policy") as http:
            deadline = asyncio.get_running_loop().time() + 60
            while (await http.get("/healthz")).status_code != 200:
                assert asyncio.get_running_loop().time() < deadline, processor.status
                await asyncio.sleep(0.1)
            yield http
    finally:
        processor.stop()
        await asyncio.wait_for(task, timeout=30)
        await parts.on_stop()


def auth(tokens_file: Path, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(tokens_file, 'policy', user)}"}


async def test_propose_and_approve_by_two_people_are_events_on_assist_policy(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    tokens_file = ensure_tokens(tmp_path / "tokens.json")
    chen, liu = auth(tokens_file, "policy.chen"), auth(tokens_file, "policy.liu")
    start = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=30)
    body = {
        "policy_version": "raise-1",
        "effective_from": start.isoformat(),
        "regions": [{"region_code": "330100", "dibao_standard": "1390"}],
    }
    shipped = shipped_proposal().policy_version

    async with running_policy(kafka, topics, tokens_file) as http:
        proposed = await http.post("/v1/policy/versions", json=body, headers=chen)
        assert proposed.status_code == 201, proposed.text
        own = await http.post("/v1/policy/versions/raise-1/approval", headers=chen)
        assert own.status_code == 403, own.text
        approved = await http.post("/v1/policy/versions/raise-1/approval", headers=liu)
        assert approved.status_code == 200, approved.text
        impact = await http.get("/v1/policy/versions/raise-1/impact", headers=liu)
        assert impact.json()["households"] == 0

    # Keyed by version: in order per version (the test's topics have several partitions).
    documents = await read_documents(kafka, topics.policy)
    by_version: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        assert document["household_id"] is None
        by_version.setdefault(document["payload"]["policy_version"], []).append(document)
    assert {name: [d["event_type"] for d in events] for name, events in by_version.items()} == {
        shipped: ["PolicyVersionProposed", "PolicyVersionApproved"],
        "raise-1": ["PolicyVersionProposed", "PolicyVersionApproved"],
    }
    assert by_version[shipped][1]["payload"]["approved_by"] == SHIPPED_BY
    proposal, approval = by_version["raise-1"]
    assert proposal["payload"]["proposed_by"] == "policy.chen"
    assert proposal["payload"]["based_on"] == shipped
    hangzhou = next(r for r in proposal["payload"]["regions"] if r["region_code"] == "330100")
    assert (hangzhou["dibao_standard"], hangzhou["prior_year_disposable_income"]) == (
        "1390",
        "77000",
    )
    assert approval["payload"]["approved_by"] == "policy.liu"

    # Started again: the versions are read back, the shipped standards not published twice.
    async with running_policy(kafka, topics, tokens_file) as http:
        listed = await http.get("/v1/policy/versions", headers=chen)
        assert {v["policy_version"]: v["status"] for v in listed.json()} == {
            shipped: "in_force",
            "raise-1": "approved",
        }
    assert len(await read_documents(kafka, topics.policy)) == 4
