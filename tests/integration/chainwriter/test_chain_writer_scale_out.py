"""Chain writers sharing assist.events: tasks dealt among instances, moved when one is killed,
added or stopped, and every household's chain still gap-free, linked and each event once."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chains import assert_gap_free_and_linked, messages, produce_in_slices, workload
from support.kafka_io import produce, read_documents, wait_for_documents
from support.processes import ServiceProcess

from contracts.topics import TopicNames
from services.chainwriter.signing_key import ensure_writer_key
from services.runtime.settings import KafkaSettings


def writer(name: str, kafka: KafkaSettings, topics: TopicNames, tmp_path: Path) -> ServiceProcess:
    """Instance `name` of the chain writer: its own data directory, with the writer's key
    every instance shares (as a deployment mounts one secret into each)."""
    data = tmp_path / name
    (data / "chainwriter").mkdir(parents=True, exist_ok=True)
    shared = tmp_path / "shared"
    ensure_writer_key(shared)
    for kept in (shared / "chainwriter").iterdir():
        if kept.is_file():
            shutil.copy(kept, data / "chainwriter" / kept.name)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ASSIST_TOPIC_NAMESPACE": topics.namespace,
        "ASSIST_INSTANCE": name,
        "ASSIST_DATA_DIR": str(data),
    }
    return ServiceProcess("chainwriter", env, data)


def health(process: ServiceProcess) -> dict[str, Any] | None:
    try:
        report = httpx.get(f"{process.url}/healthz", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    (processor,) = report["processors"]
    return processor  # type: ignore[no-any-return]


async def tasks_become(expected: dict[str, list[int]], *running: ServiceProcess) -> None:
    """Wait until the running instances report owning exactly `expected` (instance -> tasks)."""
    seen: dict[str, Any] = {}
    for _ in range(150):
        seen = {p.env["ASSIST_INSTANCE"]: health(p) for p in running}
        owned = {name: (h or {}).get("tasks") for name, h in seen.items()}
        if owned == expected and all(h and h["state"] == "running" for h in seen.values()):
            return
        await asyncio.sleep(0.4)
    raise AssertionError(f"tasks never became {expected}: {seen}")


@pytest.mark.timeout(300)
async def test_instances_share_the_partitions_through_kill_9_an_added_and_a_removed_one(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    events = workload(4000, households=90, seed=23)
    await produce(kafka, topics.events, messages(events[:200]))
    a, b, c = (writer(name, kafka, topics, tmp_path) for name in "abc")
    feeding: asyncio.Task[None] | None = None
    try:
        a.start(), b.start()
        # Three partitions, so three tasks, dealt in the order of the instances' names.
        await tasks_become({"a": [0, 2], "b": [1]}, a, b)
        a_partitions = health(a)["partitions"]  # type: ignore[index]
        assert a_partitions == [f"{topics.events}/0", f"{topics.events}/2"]
        feeding = asyncio.create_task(
            produce_in_slices(kafka, topics.events, events[200:], size=50, pause=0.4)
        )
        await wait_for_documents(kafka, topics.chain, 400, timeout=60)
        a.kill9()  # mid-stream: b takes a's tasks once the group gives up on a
        assert not feeding.done(), "the load ended before the kill had anything to interrupt"
        await tasks_become({"b": [0, 1, 2]}, b)
        c.start()  # added under load: it takes tasks from b
        await tasks_become({"b": [0, 2], "c": [1]}, b, c)
        moved_under_load = not feeding.done()
        c.stop()  # removed: it leaves the group, and b takes its task back at once
        await tasks_become({"b": [0, 1, 2]}, b)
        a.start()
        await tasks_become({"a": [0, 2], "b": [1]}, a, b)
        await feeding
        await wait_for_documents(kafka, topics.chain, 4000, timeout=120)
        await asyncio.sleep(2)  # anything written twice would show by now
        documents = await read_documents(kafka, topics.chain)
        rebalances = health(b)["rebalances"]  # type: ignore[index]
    finally:
        for process in (a, b, c):
            process.stop()
        if feeding is not None and not feeding.done():
            feeding.cancel()
    assert len(documents) == 4000
    assert_gap_free_and_linked(documents, events)
    assert rebalances >= 4  # a's death, c's arrival and leaving, a's return
    assert moved_under_load, "the load ended before the third instance took its task"
