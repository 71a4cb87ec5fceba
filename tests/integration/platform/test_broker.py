"""The real broker: produce, consume, topic catalog, and durability across a restart."""

from __future__ import annotations

import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from support.kafka_io import produce, read_all

from contracts.topics import CATALOG, TopicNames
from deploy.kafka.kafkactl import broker_status, start_broker, stop_broker
from deploy.kafka.logins import admin_settings
from services.runtime.kafka import connection_options
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics


async def test_messages_produced_are_consumed_in_order(
    kafka: KafkaSettings, topics: TopicNames
) -> None:
    sent = [(b"HH-1", f"message {n}".encode()) for n in range(200)]
    assert await produce(kafka, topics.events, sent) == 200
    received = await read_all(kafka, topics.events)
    assert [r.value for r in received] == [value for _, value in sent]
    print(f"produced and consumed 200 messages through {kafka.bootstrap_servers}")


async def test_topic_catalog_is_applied_idempotently(kafka: KafkaSettings) -> None:
    settings = TopicSettings(namespace=f"c{uuid.uuid4().hex[:8]}.")
    first = await ensure_topics(kafka, settings)
    assert sorted(first) == sorted(settings.namespace + spec.name for spec in CATALOG)
    assert await ensure_topics(kafka, settings) == []

    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    try:
        names = TopicNames(settings.namespace)
        described = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, names.chain),
                ConfigResource(ConfigResourceType.TOPIC, names.referrals("education")),
            ]
        )
        retention = {
            resource[3]: {entry[0]: entry[1] for entry in resource[4]}["retention.ms"]
            for response in described
            for resource in response.resources
        }
        assert retention == {names.chain: "-1", names.referrals("education"): "-1"}
    finally:
        await admin.close()


async def test_a_restarted_broker_keeps_every_event(tmp_path: Path) -> None:
    data_dir = tmp_path / "broker"
    broker = start_broker(data_dir, port=0, controller_port=0, timeout=150)
    try:
        kafka = admin_settings(broker.bootstrap, broker.credentials_file)
        await ensure_topics(kafka, TopicSettings())
        sent = [(f"HH-{n % 7}".encode(), f"event {n}".encode()) for n in range(500)]
        await produce(kafka, TopicNames().chain, sent)

        stop_broker(data_dir)
        assert broker_status(data_dir) is None
        again = start_broker(
            data_dir, port=broker.port, controller_port=broker.controller_port, timeout=150
        )
        assert again.bootstrap == broker.bootstrap

        received = await read_all(kafka, TopicNames().chain, timeout=30)
        assert sorted(r.value for r in received) == sorted(value for _, value in sent)
    finally:
        stop_broker(data_dir)
    assert broker_status(data_dir) is None
