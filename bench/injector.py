"""Households injected straight onto the intake topic, bypassing HTTP.

The same ApplicationReceived envelopes intake would publish (events.envelope.new_event), keyed
by household, sent with the services' own producer settings. Comparing this with the HTTP
path tells what the HTTP layer costs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from bench.workload import Household
from events.envelope import new_event
from events.household import ApplicationReceived
from services.runtime.kafka import make_producer
from services.runtime.settings import KafkaSettings

Progress = Callable[[int], None]
Message = tuple[bytes, bytes]  # key, value


def application_message(household: Household, occurred_at: datetime) -> Message:
    """The ApplicationReceived event of a household, as bytes on assist.events."""
    declared = {k: v for k, v in household.body.items() if k not in ("household_id", "occurred_at")}
    event = new_event(
        ApplicationReceived.model_validate(declared),
        household_id=household.household_id,
        producer="bench",
        occurred_at=occurred_at,
        event_id=uuid.uuid4(),
    )
    return household.household_id.encode(), event.to_bytes()


def application_messages(households: Sequence[Household], occurred_at: datetime) -> list[Message]:
    return [application_message(h, occurred_at) for h in households]


async def inject(
    kafka: KafkaSettings,
    topic: str,
    messages: Sequence[Message],
    on_progress: Progress | None = None,
    progress_every: int = 500,
) -> tuple[float, float]:
    """Send every message with the services' producer settings; (wall clock of the first
    send, seconds until all were acknowledged)."""
    producer = make_producer(kafka)
    await producer.start()
    try:
        first = time.time()
        started = time.perf_counter()
        pending = []
        for i, (key, value) in enumerate(messages, start=1):
            pending.append(await producer.send(topic, value, key=key))
            if on_progress and i % progress_every == 0:
                on_progress(i)
        await asyncio.gather(*pending)
        if on_progress:
            on_progress(len(messages))
        return first, time.perf_counter() - started
    finally:
        await producer.stop()
