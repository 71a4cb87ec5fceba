"""The loop's exactly-once on a real three-node cluster: kill -9 of a broker under load.

Three KRaft nodes started by deploy/kafka/cluster.py (three JVMs, replication 3,
min.insync.replicas 2). Intake's producer writes applications with acks=all while the chain
writer chains them; the node leading the chain's first partition is killed mid-stream and
brought back. Every acknowledged event must be in its household's chain exactly once, in
order and linked, and the returning node must be seen back in every partition's in-sync set.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from support.factories import application_event
from support.kafka_io import wait_for_documents
from support.processors import running_writer

from contracts.topics import TopicNames
from deploy.kafka.cluster import Cluster, node_pid, start_cluster, start_node, stop_cluster
from deploy.kafka.logins import admin_settings, ensure_logins, principal_settings
from events.chain import verify_chain
from events.envelope import Envelope
from services.runtime.kafka import connection_options
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

EVENTS, KILL_AT, HOUSEHOLDS = 300, 100, 30


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("kafka-cluster")
    try:
        started = start_cluster(root, timeout=240)
    except Exception as error:  # noqa: BLE001 - say why; never skip
        stop_cluster(root)
        pytest.fail(f"the three-node cluster could not be started: {error}", pytrace=False)
    try:
        yield started
    finally:
        stop_cluster(root)


async def partitions(admin: KafkaSettings, topic: str) -> list[dict[str, Any]]:
    client = AIOKafkaAdminClient(**connection_options(admin))
    await client.start()
    try:
        (described,) = await client.describe_topics([topic])
        return sorted(described["partitions"], key=lambda p: p["partition"])
    finally:
        await client.close()


async def in_sync_everywhere(admin: KafkaSettings, topic: str, nodes: int) -> bool:
    return all(len(p["isr"]) == nodes for p in await partitions(admin, topic))


def assert_each_exactly_once_in_order(
    documents: list[dict[str, Any]], acknowledged: list[Envelope]
) -> None:
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in documents:
        chains[document["household_id"]].append(document)
    chained = [d["event_id"] for d in documents]
    assert len(chained) == len(set(chained)), "an event was chained twice"
    assert {str(e.event_id) for e in acknowledged} <= set(chained), "an acknowledged event lost"
    for household, chain in chains.items():
        assert [d["sequence"] for d in chain] == list(range(1, len(chain) + 1)), household
        assert verify_chain(chain).valid, household
        sent = [str(e.event_id) for e in acknowledged if e.household_id == household]
        assert [d["event_id"] for d in chain] == sent, f"{household}: not in the order sent"


async def test_kill_9_of_a_broker_under_load_loses_no_acknowledged_event(cluster: Cluster) -> None:
    admin = admin_settings(cluster.bootstrap, cluster.credentials_file, linger_ms=1)
    await ensure_logins(admin, cluster.credentials_file)
    topics = TopicNames("cluster.")
    await ensure_topics(
        admin, TopicSettings(namespace=topics.namespace, partitions=3, replication=3, min_isr=2)
    )
    assert all(len(p["replicas"]) == 3 for p in await partitions(admin, topics.chain))
    intake = principal_settings(admin, cluster.credentials_file, "intake")
    writer = principal_settings(admin, cluster.credentials_file, "chainwriter")

    producer = AIOKafkaProducer(
        **connection_options(intake), acks="all", enable_idempotence=True, linger_ms=1
    )
    acknowledged: list[Envelope] = []
    victim = (await partitions(admin, topics.chain))[0]["leader"]
    async with running_writer(writer, topics) as processor:
        await producer.start()
        try:
            for n in range(EVENTS):
                if n == KILL_AT:  # the leader of the chain's first partition, mid-stream
                    pid = node_pid(cluster.root, victim)
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
                event = application_event(f"HH-{n % HOUSEHOLDS:03d}", n)
                await producer.send_and_wait(topics.events, event.to_bytes(), key=event.key)
                acknowledged.append(event)
        finally:
            await producer.stop()
        # The loop went on without the node: everything sent after the kill is chained.
        documents = await wait_for_documents(admin, topics.chain, EVENTS, timeout=180)
        assert_each_exactly_once_in_order(documents, acknowledged)
        assert processor.status.consumed >= EVENTS

        # The cluster saw the node go: it is no longer in the in-sync set of what it held.
        deadline = asyncio.get_running_loop().time() + 60
        while await in_sync_everywhere(admin, topics.chain, 3):
            assert asyncio.get_running_loop().time() < deadline, "the dead node stayed in sync"
            await asyncio.sleep(1)
        assert victim not in {n for p in await partitions(admin, topics.chain) for n in p["isr"]}

        await asyncio.to_thread(start_node, cluster.root, victim)
        deadline = asyncio.get_running_loop().time() + 120
        while not await in_sync_everywhere(admin, topics.chain, 3):
            assert asyncio.get_running_loop().time() < deadline, "the node never caught up"
            await asyncio.sleep(1)
        assert await in_sync_everywhere(admin, topics.events, 3)
