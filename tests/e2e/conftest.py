"""One running system per test module, on topics of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from support.browser import chromium
from support.system import System, running_system


@pytest.fixture(scope="module")
def system(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with running_system(kafka_bootstrap, tmp_path_factory.mktemp("system")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium for the page tests of one module."""
    with chromium() as driver:
        yield driver
