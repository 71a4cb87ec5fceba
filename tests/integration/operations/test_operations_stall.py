"""A processor that stops making progress while its input waits is reported stalled, by /healthz
and on the console, and healthy again once it moves."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from operations_running import Running, chain_writer, eventually
from support.factories import application_event
from support.kafka_io import produce, read_all

from contracts.topics import TopicNames
from services.operations.health_poller import HealthPoller
from services.operations.overview import service_view
from services.runtime.messages import Outbound
from services.runtime.processor import Processor
from services.runtime.settings import KafkaSettings, ServiceSettings


class CommitHangs(Processor):
    """A processor whose transaction commit hangs while `hold` is set (a stuck broker call)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.hold = asyncio.Event()
        self.released = asyncio.Event()

    async def _commit(
        self,
        producers: dict[int, object],
        outputs: dict[int, list[Outbound]],
        offsets: dict[object, int],
    ) -> None:
        if self.hold.is_set():
            await self.released.wait()
        await super()._commit(producers, outputs, offsets)  # type: ignore[arg-type]


async def test_a_stalled_processor_is_reported_and_recovers(
    kafka: KafkaSettings,
    topics: TopicNames,
    serve_processors: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSIST_STALL_SECONDS", "1")
    writer = chain_writer(topics, kafka, CommitHangs)
    assert isinstance(writer, CommitHangs)
    running: Running = serve_processors(  # type: ignore[operator]
        "chainwriter", writer, stall_seconds=ServiceSettings().stall_seconds
    )

    async def state() -> tuple[int, dict[str, object]]:
        status, report = await running.health()
        processors = report["processors"]
        assert isinstance(processors, list)
        return status, processors[0]

    await eventually(lambda: _is(state, 200, "running"), "the processor ready")
    writer.hold.set()
    await produce(
        kafka,
        topics.events,
        [(f"HH-S-{n}".encode(), application_event(f"HH-S-{n}").to_bytes()) for n in range(3)],
    )
    stalled = await eventually(lambda: _is(state, 503, "stalled"), "the stall reported", 30)
    assert isinstance(stalled, dict)
    assert stalled["stalled"] is True and stalled["lag"] == 3
    assert stalled["connected"] is True and stalled["running"] is True

    # The console, polling this /healthz, shows the same.
    console = httpx.AsyncClient(transport=httpx.ASGITransport(app=running.app))
    poller = HealthPoller({"chainwriter": "http://svc"}, console)
    await poller.poll_once()
    [row] = service_view(poller.services["chainwriter"], now=0).processors
    assert (row.state, row.ready, row.lag) == ("stalled", False, 3)
    await console.aclose()

    writer.released.set()
    recovered = await eventually(lambda: _is(state, 200, "running"), "recovery", 30)
    assert isinstance(recovered, dict) and recovered["lag"] == 0
    assert len(await read_all(kafka, topics.chain)) == 3


async def _is(probe: object, status: int, state: str) -> dict[str, object] | None:
    got_status, report = await probe()  # type: ignore[operator]
    return report if got_status == status and report["state"] == state else None
