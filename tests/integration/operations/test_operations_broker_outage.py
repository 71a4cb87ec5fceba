"""A service on a broker of the test's own: /healthz goes 503 when the broker stops and back to 200
when it returns, and events flow again afterwards (counted in /metrics)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from operations_running import eventually, parse_metrics, sample
from support.factories import application_event
from support.kafka_io import produce, read_all
from support.logins import logins_of
from support.processes import ServiceProcess

from contracts.topics import TopicNames
from deploy.kafka.kafkactl import Broker, start_broker, stop_broker
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics


async def test_healthz_follows_the_broker_away_and_back(
    own_broker: tuple[Path, Broker], tmp_path: Path
) -> None:
    data_dir, broker = own_broker
    kafka = logins_of(broker.bootstrap).admin
    topics = TopicNames(f"o{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka, TopicSettings(namespace=topics.namespace, partitions=2))
    service = ServiceProcess(
        "chainwriter",
        {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "ASSIST_TOPIC_NAMESPACE": topics.namespace,
            # A commit stuck across the outage is given up (and redone) after this long.
            "KAFKA_TRANSACTION_TIMEOUT_MS": "10000",
        },
        tmp_path,
    )
    service.start()
    try:
        await _scenario(service, kafka, topics, data_dir, broker)
    except AssertionError as failure:
        service.dump_tasks()  # where a wedged processor waits
        log = service.log_tail(80, own_only=True)
        raise AssertionError(f"{failure}\n{service.name} log:\n{log}") from None
    finally:
        service.stop()


async def _scenario(
    service: ServiceProcess,
    kafka: KafkaSettings,
    topics: TopicNames,
    data_dir: Path,
    broker: Broker,
) -> None:
    await asyncio.to_thread(service.wait_healthy, 90)
    await produce(kafka, topics.events, [(b"HH-O-1", application_event("HH-O-1").to_bytes())])
    await eventually(lambda: _consumed(service, topics, 1), "the first event counted")
    # Its transaction committed before the broker goes: a broker stopped in the middle of a
    # commit can leave that transaction hanging (a record with no commit marker, invisible to
    # read_committed readers for good), a Kafka failure mode this test is not about.
    await eventually(lambda: _chained(kafka, topics, 1), "the first event on the chain", 60)

    stop_broker(data_dir)
    down = await eventually(lambda: _health(service, 503), "503 with the broker gone", 60)
    assert isinstance(down, dict) and down["status"] == "unavailable"
    [processor] = down["processors"]
    assert processor["state"] in {"disconnected", "down"}, processor

    again = start_broker(
        data_dir, port=broker.port, controller_port=broker.controller_port, timeout=150
    )
    assert again.bootstrap == broker.bootstrap
    up = await eventually(lambda: _health(service, 200), "200 with the broker back", 120)
    assert isinstance(up, dict) and up["processors"][0]["state"] == "running"

    await produce(kafka, topics.events, [(b"HH-O-2", application_event("HH-O-2").to_bytes())])
    await eventually(lambda: _chained(kafka, topics, 2), "both events on the chain", 120)
    await eventually(lambda: _consumed(service, topics, 2), "the second event counted", 30)


async def _health(service: ServiceProcess, status: int) -> dict[str, object] | None:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(f"{service.url}/healthz")
    except httpx.HTTPError:
        return None
    return reply.json() if reply.status_code == status else None  # type: ignore[no-any-return]


async def _consumed(service: ServiceProcess, topics: TopicNames, count: int) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{service.url}/metrics")).text
    consumed = sample(
        parse_metrics(text),
        "assist_events_in_total",
        service=f"{topics.namespace}chainwriter",
        topic=topics.events,
        event_type="ApplicationReceived",
    )
    return consumed >= count  # a batch redone after a failed commit is counted again


async def _chained(kafka: KafkaSettings, topics: TopicNames, count: int) -> bool:
    return len(await read_all(kafka, topics.chain, timeout=30)) == count
