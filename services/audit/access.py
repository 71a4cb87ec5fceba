"""Recording who read which household's chain: `ChainAccessed` on `assist.audit.access`.

A read is answered only after its record is acknowledged by every in-sync replica: an audit
trail that may miss reads is no audit trail. Nothing in the system changes or deletes a record.
"""

from __future__ import annotations

import hashlib

from events.audit import ChainAccessed
from events.canonical import canonical_json
from services.runtime.publisher import KafkaPublisher
from services.runtime.settings import KafkaSettings


def token_fingerprint(token: str) -> str:
    """First 16 hex characters of the token's SHA-256: tells tokens apart, reveals none."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class AccessRecorder:
    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        # No linger: a record is one message a reader waits for, never worth batching.
        self._publisher = KafkaPublisher(kafka.model_copy(update={"linger_ms": 0}), "audit")
        self._topic = topic

    async def start(self) -> None:
        await self._publisher.start()

    async def stop(self) -> None:
        await self._publisher.stop()

    async def record(self, access: ChainAccessed) -> None:
        """Publish the record and wait until every in-sync replica has it."""
        value = canonical_json(access.model_dump(mode="json"))
        await self._publisher.publish_raw(
            self._topic, value, access.household_id.encode(), "ChainAccessed"
        )
