"""Fixtures of the operations tests (helpers are in operations_running.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from operations_running import Running

from services.runtime.http import install_common_routes
from services.runtime.processor import Processor


@pytest.fixture
async def serve_processors() -> AsyncIterator[Callable[..., Running]]:
    started: list[tuple[list[Processor], list[asyncio.Task[None]], httpx.AsyncClient]] = []

    def start(service: str, *processors: Processor, stall_seconds: float | None = None) -> Running:
        app = FastAPI()
        install_common_routes(app, service, lambda: list(processors))
        if stall_seconds is not None:  # as run_service does with ServiceSettings.stall_seconds
            app.state.stall_seconds = stall_seconds
        tasks = [asyncio.create_task(p.run()) for p in processors]
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")
        started.append((list(processors), tasks, http))
        return Running(app, http, list(processors))

    yield start
    for processors, tasks, http in started:
        for processor in processors:
            processor.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=15)
        await http.aclose()
