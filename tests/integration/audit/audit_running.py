"""Running the audit service (and the chain writer) in-process on a test namespace."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from contracts.topics import TopicNames
from deploy.local.tokens import ensure_tokens, role_tokens
from events.envelope import Envelope
from services.audit.bootstrap import build
from services.audit.config import AuditSettings, CheckpointSettings
from services.audit.indexer import ChainIndexer
from services.chainwriter.bootstrap import build as build_chainwriter
from services.runtime.processor import Processor
from services.runtime.service import ServiceParts
from services.runtime.settings import KafkaSettings, ServiceSettings


@dataclass
class RunningAudit:
    parts: ServiceParts
    http: httpx.AsyncClient
    tokens: dict[str, str]

    @property
    def processor(self) -> Processor:
        return self.parts.processors[0]

    @property
    def indexer(self) -> ChainIndexer:
        handler = self.processor.handler
        assert isinstance(handler, ChainIndexer)
        return handler

    def auth(self, role: str = "auditor") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def get(self, path: str, role: str = "auditor", **params: str) -> Any:
        reply = await self.http.get(path, headers=self.auth(role), params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def wait_checkpoint(self, events: int, timeout: float = 60.0) -> dict[str, Any]:
        """Until the latest checkpoint covers `events` chain events; that checkpoint."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            reply = await self.http.get("/v1/checkpoints/latest", headers=self.auth())
            if reply.status_code == 200 and reply.json()["events"] >= events:
                body: dict[str, Any] = reply.json()
                return body
            assert asyncio.get_running_loop().time() < deadline, reply.text
            await asyncio.sleep(0.1)

    async def wait_events(self, count: int, timeout: float = 60.0) -> None:
        """Until the index has folded `count` chain events."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            handler = self.processor.handler
            if (
                isinstance(handler, ChainIndexer)
                and self.processor.status.caught_up
                and handler.index.events >= count
            ):
                return
            assert asyncio.get_running_loop().time() < deadline, self.processor.status
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_audit(
    kafka: KafkaSettings,
    topics: TopicNames,
    workdir: Path,
    *,
    cache_mb: float = 64.0,
    every_events: int = 1000,
    seconds: float = 60.0,
    heads_per_part: int = 2000,
) -> AsyncIterator[RunningAudit]:
    tokens_file = ensure_tokens(workdir / "tokens.json")
    settings = ServiceSettings(data_dir=workdir / "data", tokens_file=tokens_file)
    parts = build(
        kafka,
        topics,
        settings,
        AuditSettings(cache_mb=cache_mb),
        CheckpointSettings(
            every_events=every_events, seconds=seconds, heads_per_part=heads_per_part
        ),
    )
    assert parts.on_start is not None and parts.on_stop is not None
    await parts.on_start()
    tasks = [asyncio.create_task(p.run()) for p in parts.processors]
    transport = httpx.ASGITransport(app=parts.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit") as http:
        running = RunningAudit(parts, http, role_tokens(tokens_file))
        try:
            await running.wait_events(0)
            yield running
        finally:
            for processor in parts.processors:
                processor.stop()
            for task in tasks:
                await asyncio.wait_for(task, timeout=30)
            await parts.on_stop()


@contextlib.asynccontextmanager
async def running_chainwriter(kafka: KafkaSettings, topics: TopicNames) -> AsyncIterator[None]:
    (processor,) = build_chainwriter(kafka, topics, ServiceSettings()).processors
    task = asyncio.create_task(processor.run())
    try:
        yield
    finally:
        processor.stop()
        await asyncio.wait_for(task, timeout=30)


def messages(events: list[Envelope]) -> list[tuple[bytes | None, bytes]]:
    return [(e.key, e.to_bytes()) for e in events]
