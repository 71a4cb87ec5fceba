"""Noticing a processor that fails on the same input position, run after run.

A message a handler cannot take becomes a dead letter, so what still stops a processor is a
failure around the handler: an exception outside it, an output larger than any record may be,
a transaction the broker refuses for what it holds. The processor restarts and meets the same
message again. `FailureTracker` is told of each failed run and where it was, and after
`stuck_after` failures in a row at one position reports the processor stuck there, until it
commits past it (usually because an operator ordered it to skip the message: skips.py).

Failures that say nothing about the message (the broker gone, a timeout, a cancellation) neither
count nor reset the count: a broker outage in the middle does not hide a poison message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka.errors import KafkaError, KafkaTimeoutError

from services.runtime.limits import DEADLETTER_MAX_REASON_CHARS

Position = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class StuckAt:
    """Where a processor keeps failing, why, how often, and since when (wall clock)."""

    topic: str
    partition: int
    offset: int
    reason: str
    failures: int
    since: float

    @property
    def position(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"

    def describe(self) -> str:
        return f"stuck at {self.position}: {self.reason}"

    def as_document(self) -> dict[str, object]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "reason": self.reason,
            "failures": self.failures,
            "since": self.since,
            "text": self.describe(),
        }


def about_the_message(error: BaseException) -> bool:
    """Whether a failure may be the message's doing: not the broker's absence, not time."""
    if isinstance(
        error, asyncio.CancelledError | TimeoutError | ConnectionError | OSError | KafkaTimeoutError
    ):
        return False
    return not (isinstance(error, KafkaError) and error.retriable)


class FailureTracker:
    """Counts consecutive failed runs at one input position."""

    def __init__(self, stuck_after: int, wall: Callable[[], float] = time.time) -> None:
        self.stuck_after = stuck_after
        self._wall = wall
        self._at: Position | None = None
        self._count = 0
        self._since = 0.0
        self.stuck: StuckAt | None = None

    def failed(self, position: Position | None, error: BaseException) -> StuckAt | None:
        """Note a failed run at `position` (None: not at any message); the stuck report, if
        this makes `stuck_after` failures in a row there."""
        if position is None or not about_the_message(error):
            return self.stuck
        if position != self._at:
            self._at, self._count, self._since = position, 0, self._wall()
        self._count += 1
        if self._count >= self.stuck_after:
            reason = f"{type(error).__name__}: {error}"
            if len(reason) > DEADLETTER_MAX_REASON_CHARS:
                reason = reason[:DEADLETTER_MAX_REASON_CHARS] + "…"
            topic, partition, offset = position
            self.stuck = StuckAt(topic, partition, offset, reason, self._count, self._since)
        return self.stuck

    def committed(self, offsets: dict[tuple[str, int], int]) -> None:
        """Input offsets were committed: a position they pass is no longer where it fails."""
        if self._at is None:
            return
        topic, partition, offset = self._at
        if offsets.get((topic, partition), -1) > offset:
            self._at, self._count, self.stuck = None, 0, None
