"""A fresh broker for one benchmark run: its own data directory and free ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.kafka.kafkactl import Broker, start_broker, stop_broker


@contextmanager
def fresh_broker(workdir: Path, timeout: float = 150) -> Iterator[Broker]:
    """Start a single-node KRaft broker under `workdir`, stop it on the way out."""
    data_dir = workdir / "kafka"
    broker = start_broker(data_dir, port=0, controller_port=0, timeout=timeout)
    try:
        yield broker
    finally:
        stop_broker(data_dir)
