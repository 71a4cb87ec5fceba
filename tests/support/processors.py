"""Processors of the services built as their services build them, to run inside a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from pathlib import Path

from contracts.topics import TopicNames
from services.chainwriter.bootstrap import build as build_chain_writer
from services.feedback.handler import FeedbackHandler
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings, ServiceSettings


@contextlib.asynccontextmanager
async def running(processor: Processor, timeout: float = 60) -> AsyncIterator[Processor]:
    """`processor`, running in this test's event loop until the block ends."""
    task = asyncio.create_task(processor.run())
    try:
        yield processor
    finally:
        processor.stop()
        await asyncio.wait_for(task, timeout=timeout)


def running_writer(
    kafka: KafkaSettings, topics: TopicNames, data_dir: Path | None = None
) -> AsyncContextManager[Processor]:
    """The chain writer's processor as its service builds it, running until the block ends;
    its key and kept heads under `data_dir` (else the settings' default)."""
    settings = ServiceSettings(data_dir=data_dir) if data_dir else ServiceSettings()
    (processor,) = build_chain_writer(kafka, topics, settings).processors
    return running(processor)


def feedback_processor(topics: TopicNames, kafka: KafkaSettings) -> Processor:
    """Feedback's processor as its service builds it, its timer and lag checks quick."""
    return Processor(
        ProcessorConfig(
            f"{topics.namespace}feedback",
            (topics.chain, topics.feedback, topics.clock),
            topics.deadletter,
            tick_seconds=0.2,
            lag_check_seconds=0.3,
        ),
        lambda: FeedbackHandler(topics),
        kafka,
    )
