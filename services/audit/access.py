"""Recording who read which household's chain: `ChainAccessed` on `assist.audit.access`.

A read is answered only after its record is acknowledged by every in-sync replica: an audit
trail that may miss reads is no audit trail. Nothing in the system changes or deletes a record.
"""

from __future__ import annotations

import hashlib

from aiokafka import AIOKafkaProducer

from events.audit import ChainAccessed
from events.canonical import canonical_json
from services.runtime.kafka import make_producer
from services.runtime.settings import KafkaSettings


def token_fingerprint(token: str) -> str:
    """First 16 hex characters of the token's SHA-256: tells tokens apart, reveals none."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class AccessRecorder:
    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        # No linger: a record is one message a reader waits for, never worth batching.
        self._kafka = kafka.model_copy(update={"linger_ms": 0})
        self._topic = topic
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = make_producer(self._kafka)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def record(self, access: ChainAccessed) -> None:
        if self._producer is None:
            raise RuntimeError("access recorder not started")
        value = canonical_json(access.model_dump(mode="json"))
        await self._producer.send_and_wait(self._topic, value, key=access.household_id.encode())
