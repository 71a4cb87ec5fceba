"""A transaction that never ends holds every record behind it away from read_committed
readers, and neither lag (measured to the last stable offset) nor a stall shows it: /healthz
reports such an input partition "held", and ready again once the transaction ends."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from operations_running import Running, chain_writer, eventually
from support.factories import application_event

from contracts.topics import TopicNames
from services.runtime.kafka import connection_options
from services.runtime.settings import KafkaSettings


@pytest.mark.timeout(180)
async def test_an_input_held_by_a_transaction_that_does_not_end_is_reported(
    kafka: KafkaSettings, topics: TopicNames, serve_processors: object
) -> None:
    # Its own transactions time out after 1 s: an input held 31 s is held by one that will not end.
    short = kafka.model_copy(update={"transaction_timeout_ms": 1000})
    writer = chain_writer(topics, short)
    running: Running = serve_processors("chainwriter", writer)  # type: ignore[operator]

    async def state(status: int, name: str) -> dict[str, object] | None:
        got, report = await running.health()
        [processor] = report["processors"]  # type: ignore[misc]
        return processor if got == status and processor["state"] == name else None  # type: ignore[no-any-return]

    await eventually(lambda: state(200, "running"), "the processor ready")
    # Another producer opens a transaction on the input and neither commits nor aborts it.
    stuck = AIOKafkaProducer(
        **connection_options(kafka),
        transactional_id=f"stuck-{uuid.uuid4().hex[:8]}",
        transaction_timeout_ms=600_000,
    )
    await stuck.start()
    try:
        await stuck.begin_transaction()
        event = application_event("HH-HELD")
        await (await stuck.send(topics.events, event.to_bytes(), key=event.key))
        held = await eventually(lambda: state(503, "held"), "the input reported held", 90)
        assert isinstance(held, dict)
        [partition] = held["held_partitions"]  # type: ignore[misc]
        assert partition.startswith(f"{topics.events}/")
        assert held["lag"] == 0  # what lag alone would have said: nothing waiting

        await stuck.abort_transaction()
        await eventually(lambda: state(200, "running"), "ready again once it ended", 60)
    finally:
        await stuck.stop()
