"""aiokafka clients built from settings: the only place that knows their options."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.helpers import create_ssl_context

from services.runtime.limits import (
    CONSUMER_FETCH_MAX_BYTES,
    CONSUMER_MAX_PARTITION_FETCH_BYTES,
    PRODUCER_BATCH_BYTES,
    PRODUCER_MAX_REQUEST_BYTES,
)
from services.runtime.settings import KafkaSettings

ConsumerRecord = Any  # aiokafka.structs.ConsumerRecord (aiokafka ships no types)


def connection_options(settings: KafkaSettings) -> dict[str, Any]:
    """Where the cluster is and who this client is: every client of the project takes these,
    so none can connect without the credentials its settings carry."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol != "PLAINTEXT":
        assert settings.sasl_password is not None  # checked by KafkaSettings
        options |= {
            "sasl_mechanism": settings.sasl_mechanism,
            "sasl_plain_username": settings.sasl_username,
            "sasl_plain_password": settings.sasl_password.get_secret_value(),
        }
    if settings.security_protocol == "SASL_SSL":
        cafile = str(settings.ssl_cafile) if settings.ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    return options


def make_producer(settings: KafkaSettings, transactional_id: str | None = None) -> AIOKafkaProducer:
    """An idempotent producer (acks=all); transactional when given a transactional id."""
    return AIOKafkaProducer(
        **connection_options(settings),
        acks="all" if settings.acks == "all" else int(settings.acks),
        enable_idempotence=True,
        # A transaction's commit flushes its batches anyway: lingering would only hold the
        # produce request back while the commit's other requests wait for it.
        linger_ms=0 if transactional_id is not None else settings.linger_ms,
        request_timeout_ms=settings.request_timeout_ms,
        transactional_id=transactional_id,
        retry_backoff_ms=settings.txn_retry_backoff_ms if transactional_id is not None else 100,
        transaction_timeout_ms=settings.transaction_timeout_ms,
        max_batch_size=PRODUCER_BATCH_BYTES,
        # The broker's limit too (services/runtime/limits.py): refused here, at once, with the
        # size named, rather than by the broker after a round trip.
        max_request_size=PRODUCER_MAX_REQUEST_BYTES,
    )


def make_consumer(
    settings: KafkaSettings, group_id: str | None, assignors: tuple[Any, ...] | None = None
) -> AIOKafkaConsumer:
    """A consumer that sees only committed transactions and commits offsets itself; a member of
    its group (subscribing) deals partitions with `assignors` when given."""
    extra = {"partition_assignment_strategy": assignors} if assignors else {}
    return AIOKafkaConsumer(
        **connection_options(settings),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=settings.request_timeout_ms,
        max_partition_fetch_bytes=CONSUMER_MAX_PARTITION_FETCH_BYTES,
        fetch_max_bytes=CONSUMER_FETCH_MAX_BYTES,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        **extra,
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


async def read_to_end(
    consumer: AIOKafkaConsumer,
    topic: str,
    on_record: Callable[[ConsumerRecord], object],
    on_progress: Callable[[int, int], None] | None = None,
    starts: Mapping[TopicPartition, int] | None = None,
    ends: Mapping[TopicPartition, int] | None = None,
    partitions: Sequence[TopicPartition] | None = None,
) -> int:
    """Feed every record of `topic` (committed only, for a read_committed consumer) from its
    beginning, or from `starts` where it gives a partition's offset, to its end as of now (or
    `ends`, already asked for) to `on_record`, with a started, unsubscribed consumer; only
    `partitions` of it when given.

    `on_progress(done, total)` is told after each batch how far the read is, in offsets.
    Returns the number of records read.
    """
    if partitions is None:
        partitions = await partitions_of(consumer, topic)
    consumer.assign(list(partitions))
    await consumer.seek_to_beginning(*partitions)
    beginnings = dict(await consumer.beginning_offsets(partitions))
    for tp, offset in (starts or {}).items():
        consumer.seek(tp, offset)
        beginnings[tp] = offset
    ends = ends if ends is not None else await consumer.end_offsets(partitions)
    total = sum(ends[tp] - beginnings[tp] for tp in partitions)
    remaining = {tp for tp in partitions if ends[tp] > beginnings[tp]}
    count = 0
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
        for records in batches.values():
            for record in records:
                on_record(record)
                count += 1
        done = 0
        for tp in partitions:
            position = await consumer.position(tp)
            done += min(position, ends[tp]) - beginnings[tp]
            if position >= ends[tp]:
                remaining.discard(tp)
        if on_progress is not None:
            on_progress(done, total)
    return count


def login_hint(error: BaseException, settings: KafkaSettings) -> str:
    """What to do about a Kafka error that a login explains, for a command's one-line message
    ("" when none does): no login on a broker that wants one, or a principal refused."""
    name = type(error).__name__
    if "AuthorizationFailed" in name:
        who = settings.principal or "an anonymous client"
        return (
            f" ({who} may not do this: contracts/access.py says which principal may read or "
            "write which topic)"
        )
    if settings.principal is None and name in {"KafkaConnectionError", "ConnectionError"}:
        return (
            " (a broker with authentication refuses clients without a login: set "
            "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)"
        )
    return ""
