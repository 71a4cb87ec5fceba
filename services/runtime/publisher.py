"""Publishing an accepted request: durable in Kafka (acks=all) before the caller hears 202."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from events.envelope import Envelope
from services.runtime import metrics
from services.runtime.kafka import make_producer
from services.runtime.peek import event_type_header
from services.runtime.settings import KafkaSettings


class KafkaPublisher:
    def __init__(self, kafka: KafkaSettings, service: str) -> None:
        # No linger: every request waits for its own message, so lingering adds to each answer
        # (and to the household's whole wait); concurrent requests still share a batch while
        # an earlier one is in flight.
        self._kafka = kafka.model_copy(update={"linger_ms": 0})
        self._service = service
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = make_producer(self._kafka)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        """Send and wait for every in-sync replica to have it."""
        if self._producer is None:
            raise RuntimeError("publisher not started")
        label = event.event_type.value
        await self._producer.send_and_wait(
            topic, event.to_bytes(), key=key or event.key, headers=[event_type_header(label)]
        )
        metrics.EVENTS_OUT.labels(self._service, topic, event.event_type.value).inc()

    async def publish_raw(self, topic: str, value: bytes, key: bytes | None, label: str) -> None:
        if self._producer is None:
            raise RuntimeError("publisher not started")
        await self._producer.send_and_wait(topic, value, key=key)
        metrics.EVENTS_OUT.labels(self._service, topic, label).inc()
