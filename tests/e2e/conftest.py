"""One running system per test module, on topics of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from support.browser import chromium
from support.logins import logins_of
from support.system import System

from contracts.topics import TopicNames
from services.runtime.settings import TopicSettings
from services.runtime.topic_admin import ensure_topics


@pytest.fixture(scope="module")
def system(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    kafka = logins_of(kafka_bootstrap).admin
    topics = TopicNames(f"e{uuid.uuid4().hex[:10]}.")
    asyncio.run(ensure_topics(kafka, TopicSettings(namespace=topics.namespace, partitions=3)))
    workdir: Path = tmp_path_factory.mktemp("system")
    running = System(kafka, topics, workdir)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium for the page tests of one module."""
    with chromium() as driver:
        yield driver
