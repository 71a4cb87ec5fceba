"""structlog, configured once per process: JSON lines in production, readable in a terminal."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog

from events.identity import is_valid_resident_id, mask_resident_id

_ID_CANDIDATE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def mask_identity_numbers(text: str) -> str:
    """Replace every valid resident identity number in `text` by its masked form."""
    return _ID_CANDIDATE.sub(
        lambda m: mask_resident_id(m.group(0)) if is_valid_resident_id(m.group(0)) else m.group(0),
        text,
    )


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_identity_numbers(value) if len(value) >= 18 else value
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(item) for item in value]
    return value


def _mask_processor(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Resident identity numbers never leave a process in clear, whatever field carries them,
    # nested ones and formatted tracebacks included (so it runs after format_exc_info).
    for key, value in event_dict.items():
        event_dict[key] = _masked(value)
    return event_dict


class RepeatLimiter(logging.Filter):
    """Lets the same library message (by logger and template) through once per `interval`.

    With the broker gone, aiokafka logs each failed reconnect, about ten lines a second per
    client, which would bury everything else an operator needs; the first of a run is kept,
    and the next one let through says how many were left out (`repeated`).
    """

    MAX_KEYS = 1024

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._left_out: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return False
        if len(self._last) >= self.MAX_KEYS:  # messages formatted before logging: all distinct
            self._forget_older_than(now - self.interval)
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        if left_out:
            record.repeated = left_out
        return True

    def _forget_older_than(self, cutoff: float) -> None:
        for key in [key for key, seen in self._last.items() if seen < cutoff]:
            del self._last[key]
            self._left_out.pop(key, None)


def configure_logging(service: str, fmt: str = "auto", level: str = "INFO") -> None:
    """Set up structlog and the stdlib root logger (aiokafka, uvicorn) to share one output."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    masked: list[Any] = [structlog.processors.format_exc_info, _mask_processor]
    structlog.configure(
        processors=[*shared, *masked, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *masked,
                renderer,
            ],
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(allow=["repeated"]),
            ],
        )
    )
    handler.addFilter(RepeatLimiter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def get_logger(**bound: Any) -> Any:
    """A lazy logger: safe at import time, it takes the configuration in force when first used."""
    return structlog.get_logger(**bound)
