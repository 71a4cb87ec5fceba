"""A second copy of a service that runs one instance fences the first (the same transactional
id): the first's service stops and exits with status 1, for its supervisor to start it again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from support.kafka_io import produce
from support.processes import ServiceProcess

from contracts.topics import TopicNames
from deploy.local.tokens import ensure_tokens
from services.runtime.settings import KafkaSettings


@pytest.mark.timeout(180)
async def test_the_fenced_copy_exits_with_status_1(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ASSIST_TOPIC_NAMESPACE": topics.namespace,
        "ASSIST_DATA_DIR": str(tmp_path),
        "ASSIST_TOKENS_FILE": str(ensure_tokens(tmp_path / "tokens.json")),
    }
    first = ServiceProcess("feedback", env, tmp_path / "first")
    second = ServiceProcess("feedback", env, tmp_path / "second")
    for process in (first, second):
        process.log_path.parent.mkdir()
    try:
        first.start().wait_healthy(timeout=90)
        second.start().wait_healthy(timeout=90)  # its start fenced the first's producer
        # A message both read: the first's commit of it is refused.
        await produce(kafka, topics.feedback, [(b"R-1", b"not an answer")])
        deadline = time.monotonic() + 60
        while first.process is not None and first.process.poll() is None:
            assert time.monotonic() < deadline, first.log_tail(own_only=True)
            await asyncio.sleep(0.3)
        assert first.process is not None and first.process.returncode == 1
        assert "stopping the service" in first.log_path.read_text()
        assert second.process is not None and second.process.poll() is None
    finally:
        first.stop()
        second.stop()
