"""Create the catalog's topics and grant their access, idempotently, with aiokafka's admin
client logged in as the administrator (or with no login at all on a broker without
authentication, where there is nothing to grant)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from contracts.topics import TopicSpec, catalog
from services.runtime.kafka import connection_options
from services.runtime.kafka_access import ensure_grants, ensure_users
from services.runtime.limits import topic_properties
from services.runtime.logging import get_logger
from services.runtime.settings import KafkaSettings, TopicSettings

log = get_logger()


def topic_config(spec: TopicSpec, settings: TopicSettings) -> dict[str, str]:
    return {
        "retention.ms": str(spec.retention_ms),
        "min.insync.replicas": str(settings.min_isr),
        "cleanup.policy": "delete",
        **topic_properties(),  # max.message.bytes: the same on every topic and every cluster
        **spec.extra_config,
    }


async def ensure_topics(
    kafka: KafkaSettings,
    topics: TopicSettings | None = None,
    timeout: float = 60.0,
) -> list[str]:
    """Create what is missing (existing topics are left as they are) and, on a broker with
    authentication, grant the namespace's access (contracts/access.py); return the names
    created."""
    topics = topics or TopicSettings()
    specs = catalog(topics.namespace)
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await _start_with_retry(admin, timeout)
    try:
        if kafka.principal is not None:
            await ensure_grants(admin, topics.namespace)
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name=spec.name,
                        num_partitions=topics.partitions or spec.partitions,
                        replication_factor=topics.replication,
                        topic_configs=topic_config(spec, topics),
                    )
                    for spec in missing
                ]
            )
            await _wait_until_listed(admin, {s.name for s in missing}, timeout)
        created = [spec.name for spec in missing]
        log.info("topics ensured", created=created, total=len(specs))
        return created
    finally:
        await admin.close()


async def ensure_principals(
    kafka: KafkaSettings, passwords: Mapping[str, str], timeout: float = 60.0
) -> None:
    """Give every principal its SCRAM credential (with the administrator's login)."""
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await _start_with_retry(admin, timeout)
    try:
        await ensure_users(admin, passwords)
    finally:
        await admin.close()


async def _start_with_retry(admin: AIOKafkaAdminClient, timeout: float) -> None:
    # Services may start before the broker accepts connections; wait for it, then say why not.
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)


async def _wait_until_listed(admin: AIOKafkaAdminClient, names: set[str], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not names <= set(await admin.list_topics()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics not visible after creation: {sorted(names)}")
        await asyncio.sleep(0.2)
