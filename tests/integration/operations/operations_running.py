"""Helpers of the operations tests: in-process processors behind their routes, and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from contracts.topics import TopicNames
from services.chainwriter.writer import ChainWriter
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a /metrics answer, parsed as Prometheus parses it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def chain_writer(
    topics: TopicNames,
    kafka: KafkaSettings,
    kind: type[Processor] = Processor,
    lag_check_seconds: float = 0.3,
) -> Processor:
    """The chain writer's processor as its service builds it, looking at the broker often."""
    return kind(
        ProcessorConfig(
            f"{topics.namespace}chainwriter",
            (topics.events,),
            topics.deadletter,
            replay_inputs=False,
            lag_check_seconds=lag_check_seconds,
        ),
        lambda: ChainWriter(topics),
        kafka,
    )


@dataclass
class Running:
    """Processors running in this event loop, behind a service's /healthz and /metrics."""

    app: FastAPI
    http: httpx.AsyncClient
    processors: list[Processor]

    async def health(self) -> tuple[int, dict[str, object]]:
        reply = await self.http.get("/healthz")
        return reply.status_code, reply.json()

    async def metrics(self) -> Samples:
        reply = await self.http.get("/metrics")
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain")
        return parse_metrics(reply.text)


async def eventually(
    probe: Callable[[], Awaitable[object]], what: str, timeout: float = 60.0
) -> object:
    """Poll until `probe` returns something truthy; fail saying what never happened."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: object = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
