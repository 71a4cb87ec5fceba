"""`assist deadletter list | show | replay` on a real broker: a garbage message is dead-lettered,
its fixed version re-driven and chained exactly once, however often it is replayed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from operations_running import eventually, parse_metrics, sample
from support.deadletter_cli import assist, cli
from support.factories import application_event, member
from support.kafka_io import produce, read_documents, wait_for_documents
from support.processes import ServiceProcess

from contracts.topics import TopicNames
from events.identity import mask_resident_id
from services.runtime.settings import KafkaSettings


async def test_a_fixed_dead_letter_is_replayed_and_chained_exactly_once(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    writer = ServiceProcess(
        "chainwriter",
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "ASSIST_TOPIC_NAMESPACE": topics.namespace,
        },
        tmp_path,
    )
    writer.start()
    try:
        await asyncio.to_thread(writer.wait_healthy, 90)
        await _scenario(kafka, topics, tmp_path, writer)
    finally:
        writer.stop()


async def _scenario(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path, writer: ServiceProcess
) -> None:
    good = application_event("HH-DL-1", members=[member(7)])
    resident = good.payload.members[0].person_id  # type: ignore[attr-defined]
    broken = json.loads(good.to_bytes())
    broken["occurred_at"] = "last tuesday"
    garbage = json.dumps(broken).encode()
    await produce(kafka, topics.events, [(b"HH-DL-1", garbage)])
    await wait_for_documents(kafka, topics.deadletter, 1)

    [listed] = await assist(kafka, topics, "list", "--json")
    assert listed["service"] == f"{topics.namespace}chainwriter"
    assert listed["source"]["topic"] == topics.events and listed["redriven"] == 0
    assert listed["reason"].startswith("occurred_at")
    table = await assist(kafka, topics, "list")
    assert listed["dead_letter_id"] in table and "1 dead letters" in table

    short = listed["dead_letter_id"][:8]
    shown = await assist(kafka, topics, "show", short, "--json")
    assert shown["key"] == "HH-DL-1" and "last tuesday" in shown["value_text"]
    assert resident not in json.dumps(shown) and mask_resident_id(resident) in shown["value_text"]
    assert resident not in await assist(kafka, topics, "show", short)
    raw = await asyncio.to_thread(cli, kafka, topics, "show", short, "--raw")
    assert raw.stdout.encode() == garbage  # the one way to the original bytes, to fix them

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(good.to_bytes())
    record = await assist(kafka, topics, "replay", short, "--value-file", str(fixed), "--json")
    assert record["topic"] == topics.events and record["fixed"] is True
    assert record["forced"] is False

    await eventually(lambda: _chained(kafka, topics, str(good.event_id), 1), "the fix chained")
    again = await asyncio.to_thread(cli, kafka, topics, "replay", short, "--value-file", str(fixed))
    assert again.returncode == 1 and "already re-driven" in again.stderr

    forced = await assist(
        kafka, topics, "replay", short, "--value-file", str(fixed), "--force", "--json"
    )
    assert forced["forced"] is True and forced["offset"] != record["offset"]
    # The chain writer sees the same event_id again and drops it: still exactly one on the chain.
    await eventually(lambda: _duplicates(writer, 1), "the forced replay dropped as a duplicate")
    assert await _chained(kafka, topics, str(good.event_id), 1)
    assert len(await read_documents(kafka, topics.deadletter_redriven)) == 2
    [after] = await assist(kafka, topics, "list", "--json")
    assert after["redriven"] == 2

    not_json = tmp_path / "broken.json"
    not_json.write_text("{not json")
    refused = await asyncio.to_thread(
        cli, kafka, topics, "replay", short, "--value-file", str(not_json), "--force"
    )
    assert refused.returncode == 1 and "not JSON" in refused.stderr
    missing = await asyncio.to_thread(cli, kafka, topics, "show", "ffffffff")
    assert missing.returncode == 1 and "no dead letter" in missing.stderr


async def _chained(kafka: KafkaSettings, topics: TopicNames, event_id: str, count: int) -> bool:
    chain = await read_documents(kafka, topics.chain)
    return len([d for d in chain if d["event_id"] == event_id]) == count


async def _duplicates(writer: ServiceProcess, count: int) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{writer.url}/metrics")).text
    return (
        sample(parse_metrics(text), "assist_duplicates_dropped_total", service="chainwriter")
        == count
    )
