"""Log lines never carry a resident identity number in clear: nested values and tracebacks too."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import date

import pytest
import structlog

from events.identity import make_resident_id, mask_resident_id
from services.runtime.logging import RepeatLimiter, configure_logging, get_logger

RESIDENT = make_resident_id("330100", date(1990, 3, 7), 77)


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The services' logging set-up on a stderr of its own, undone afterwards."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("operations-test", fmt="json")
    try:
        yield stream
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.handlers[:], root.level = handlers, level


def test_nested_fields_tracebacks_and_library_logs_are_masked(json_logs: io.StringIO) -> None:
    log = get_logger()
    log.info("nested", members=[{"person_id": RESIDENT}], ids=(RESIDENT,), household_id="HH-1")
    try:
        raise ValueError(f"person_id {RESIDENT} is unknown")
    except ValueError:
        log.exception("failed")
        logging.getLogger("aiokafka.test").exception("library says %s", RESIDENT)
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line]
    assert len(lines) == 3
    text = json.dumps(lines)
    assert RESIDENT not in text
    assert text.count(mask_resident_id(RESIDENT)) >= 5
    assert all(line["service"] == "operations-test" for line in lines)
    assert lines[0]["household_id"] == "HH-1"


def test_a_library_message_repeated_many_times_is_logged_once_with_its_count(
    json_logs: io.StringIO,
) -> None:
    client = logging.getLogger("aiokafka")
    for attempt in range(50):
        client.error("Unable connect to node with id %s: attempt %s", 1, attempt)
    client.error("Unable to update metadata from %s", [1])
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "Unable connect to node with id 1: attempt 0",
        "Unable to update metadata from [1]",
    ]
    [limiter] = logging.getLogger().handlers[0].filters
    limiter.interval = 0  # type: ignore[union-attr]  # the interval has passed
    client.error("Unable connect to node with id %s: attempt %s", 1, 50)
    last = json.loads(json_logs.getvalue().splitlines()[-1])
    assert last["event"] == "Unable connect to node with id 1: attempt 50"
    assert last["repeated"] == 49


def test_the_repeat_limiter_forgets_old_messages_instead_of_growing_for_good() -> None:
    limiter = RepeatLimiter(interval=0)
    for n in range(5 * RepeatLimiter.MAX_KEYS):
        record = logging.LogRecord("uvicorn", logging.WARNING, __file__, 1, f"msg {n}", None, None)
        assert limiter.filter(record)
    assert len(limiter._last) <= RepeatLimiter.MAX_KEYS
