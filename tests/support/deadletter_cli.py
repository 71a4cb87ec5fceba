"""`assist deadletter …` run as an operator runs it: its own process, on a test's topics."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from contracts.topics import TopicNames
from services.runtime.settings import KafkaSettings
from support.logins import logins_of


def cli(kafka: KafkaSettings, topics: TopicNames, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # An operator's tool: it logs in as the operations principal.
        **logins_of(kafka.bootstrap_servers).env("operations"),
        "ASSIST_TOPIC_NAMESPACE": topics.namespace,
        "COLUMNS": "200",
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "services.cli", "deadletter", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def assist(kafka: KafkaSettings, topics: TopicNames, *args: str) -> Any:
    """The command's output (parsed with --json); it must succeed."""
    done = await asyncio.to_thread(cli, kafka, topics, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout
