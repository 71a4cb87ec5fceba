"""Fixtures of the integration tests that need more than the session's shared broker."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.logins import logins_for

from deploy.kafka.kafkactl import Broker, start_broker, stop_broker


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[Path, Broker]]:
    """A KRaft broker of the test's own, which it may stop, pause or restart."""
    data_dir = tmp_path / "broker"
    broker = start_broker(data_dir, port=0, controller_port=0, timeout=150)
    logins_for(broker)  # every principal's login, as on the session's broker
    try:
        yield data_dir, broker
    finally:
        with contextlib.suppress(ProcessLookupError):  # never leave it paused
            os.kill(broker.pid, signal.SIGCONT)
        stop_broker(data_dir)
