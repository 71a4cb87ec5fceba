"""The same raw measurement as bench/baseline.py, with librdkafka (confluent-kafka).

Which client is faster on this machine decides what "the limit" is: the loop's efficiency is
stated against the faster of the two, so a slow client cannot flatter the loop. The producer
and consumer take the services' options where librdkafka has them (acks=all, idempotent, the
same linger and batch size, read_committed, the same fetch wait); each runs in a thread of its
own, as librdkafka's Python binding blocks.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from bench.baseline import Baseline, Progress, raw_messages
from bench.stats import rate
from services.runtime.limits import (
    CONSUMER_FETCH_MAX_BYTES,
    CONSUMER_MAX_PARTITION_FETCH_BYTES,
    PRODUCER_BATCH_BYTES,
    PRODUCER_MAX_REQUEST_BYTES,
)
from services.runtime.settings import KafkaSettings

CLIENT = "confluent-kafka (librdkafka)"


def librdkafka_login(settings: KafkaSettings) -> dict[str, Any]:
    """The connection and login of `settings`, in librdkafka's names."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": (settings.security_protocol or "PLAINTEXT").lower(),
    }
    if settings.security_protocol != "PLAINTEXT":
        assert settings.sasl_password is not None  # checked by KafkaSettings
        config |= {
            "sasl.mechanism": settings.sasl_mechanism,
            "sasl.username": settings.sasl_username,
            "sasl.password": settings.sasl_password.get_secret_value(),
        }
    if settings.security_protocol == "SASL_SSL" and settings.ssl_cafile:
        config["ssl.ca.location"] = str(settings.ssl_cafile)
    return config


def _producer(settings: KafkaSettings) -> Producer:
    return Producer(
        {
            **librdkafka_login(settings),
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": settings.linger_ms,
            "batch.size": PRODUCER_BATCH_BYTES,
            "message.max.bytes": PRODUCER_MAX_REQUEST_BYTES,
            "request.timeout.ms": settings.request_timeout_ms,
        }
    )


def _consumer(settings: KafkaSettings) -> Consumer:
    return Consumer(
        {
            **librdkafka_login(settings),
            # librdkafka wants a group even for assigned partitions; nothing is committed.
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": settings.fetch_max_wait_ms,
            "max.partition.fetch.bytes": CONSUMER_MAX_PARTITION_FETCH_BYTES,
            "fetch.max.bytes": CONSUMER_FETCH_MAX_BYTES,
        }
    )


def _produce(
    settings: KafkaSettings,
    topic: str,
    messages: list[tuple[bytes, bytes]],
    on_progress: Progress | None,
) -> float:
    """Send every message; seconds from the first send to the last acknowledgement."""
    producer = _producer(settings)
    # Connected and logged in before the clock starts, as aiokafka's producer is by start().
    producer.list_topics(topic, timeout=30)
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    started = time.perf_counter()
    for i, (key, value) in enumerate(messages, start=1):
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)
        if on_progress and i % 1000 == 0:
            on_progress(i)
    if producer.flush(120) != 0:
        raise TimeoutError("librdkafka: messages still unacknowledged after 120 s")
    if failures:
        raise KafkaException(f"librdkafka: {len(failures)} messages failed: {failures[0]}")
    if on_progress:
        on_progress(len(messages))
    return time.perf_counter() - started


def _consume(
    consumer: Consumer, count: int, on_progress: Progress | None, ready: threading.Event | None
) -> float:
    """Read `count` messages from the assigned positions; seconds from the first poll."""
    started = time.perf_counter()
    seen = 0
    if ready is not None:
        ready.set()
    deadline = time.monotonic() + 300
    while seen < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"librdkafka: {seen} of {count} messages read in 300 s")
        batch = consumer.consume(num_messages=5000, timeout=0.5)
        seen += sum(1 for message in batch if message.error() is None)
        if on_progress:
            on_progress(seen)
    return time.perf_counter() - started


def _ends(consumer: Consumer, topic: str, partitions: int) -> list[TopicPartition]:
    """Each partition at its end as it is now (nothing of an earlier measurement is counted)."""
    return [
        TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1])
        for p in range(partitions)
    ]


def _measure(
    settings: KafkaSettings,
    topic: str,
    messages: list[tuple[bytes, bytes]],
    partitions: int,
    on_produced: Progress | None,
    on_consumed: Progress | None,
) -> Baseline:
    count = len(messages)
    consumer = _consumer(settings)
    try:
        starts = _ends(consumer, topic, partitions)
        consumer.assign(starts)
        ready = threading.Event()
        pipelined: dict[str, float] = {}

        def read() -> None:
            pipelined["consume"] = _consume(consumer, count, on_consumed, ready)

        reader = threading.Thread(target=read, name="bench-raw-consumer", daemon=True)
        started = time.perf_counter()
        reader.start()
        ready.wait(30)
        produced_in = _produce(settings, topic, messages, on_produced)
        reader.join(330)
        if reader.is_alive() or "consume" not in pipelined:
            raise TimeoutError("librdkafka: the consumer did not read every message")
        both = time.perf_counter() - started
        # Consume alone: the same messages again, from where they begin.
        consumer.assign(starts)
        consumed_in = _consume(consumer, count, None, None)
    finally:
        consumer.close()
    return Baseline(
        messages=count,
        message_bytes=len(messages[0][1]) if messages else 0,
        partitions=partitions,
        pipelined_per_second=rate(count, both),
        produce_per_second=rate(count, produced_in),
        consume_per_second=rate(count, consumed_in),
    )


async def measure_librdkafka(
    kafka: KafkaSettings,
    topic: str,
    count: int,
    size: int,
    partitions: int = 6,
    on_produced: Progress | None = None,
    on_consumed: Progress | None = None,
    create: bool = True,
) -> Baseline:
    """As bench.baseline.measure_baseline, with librdkafka's producer and consumer."""
    messages = await raw_messages(kafka, topic, count, size, partitions, create)
    return await asyncio.to_thread(
        _measure, kafka, topic, messages, partitions, on_produced, on_consumed
    )
