"""aiokafka clients built from settings: the only place that knows their options."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.runtime.settings import KafkaSettings


def make_producer(settings: KafkaSettings, transactional_id: str | None = None) -> AIOKafkaProducer:
    """An idempotent producer (acks=all); transactional when given a transactional id."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all" if settings.acks == "all" else int(settings.acks),
        enable_idempotence=True,
        # A transaction's commit flushes its batches anyway: lingering would only hold the
        # produce request back while the commit's other requests wait for it.
        linger_ms=0 if transactional_id is not None else settings.linger_ms,
        request_timeout_ms=settings.request_timeout_ms,
        transactional_id=transactional_id,
        retry_backoff_ms=settings.txn_retry_backoff_ms if transactional_id is not None else 100,
        transaction_timeout_ms=settings.transaction_timeout_ms,
        max_batch_size=256 * 1024,
    )


def make_consumer(settings: KafkaSettings, group_id: str | None) -> AIOKafkaConsumer:
    """A consumer that sees only committed transactions and commits offsets itself."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=settings.request_timeout_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
    )


async def partitions_of(
    consumer: AIOKafkaConsumer, topic: str, timeout: float = 30.0
) -> list[TopicPartition]:
    """The partitions of `topic`, waiting for metadata of a topic that was just created."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        # A consumer without a subscription caches no topic metadata, and aiokafka has no
        # public call that returns partitions of an arbitrary topic: ask the client directly.
        cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001
        found = cluster.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"topic {topic} does not exist (no partitions after {timeout}s)")
        await asyncio.sleep(0.2)
