"""What a stream processor reports about itself: to /healthz, /metrics and the operator console."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from services.runtime.stuck import StuckAt

__all__ = ["ProcessorStatus"]


@dataclass
class ProcessorStatus:
    """What /healthz and the operator console show about one processor."""

    name: str
    inputs: tuple[str, ...]
    running: bool = False
    replaying: bool = True
    caught_up: bool = False  # has reached the end of its inputs at least once since start
    # The broker answered the last look at the inputs' end offsets (see Processor._watch).
    connected: bool = False
    lag: dict[str, int] = field(default_factory=dict)
    last_progress_at: float | None = None
    waiting_since: float | None = None  # when input last started to wait (lag went above 0)
    lag_checked_at: float | None = None
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    consumed: int = 0
    produced: int = 0
    # Input partitions whose last stable offset has stayed below the high watermark, with
    # everything before it consumed, for longer than any transaction may stay open: records
    # behind a transaction that never ends (a "hanging transaction"), which read_committed
    # readers never see and the lag does not show. Partition -> since when (wall clock).
    held: dict[str, float] = field(default_factory=dict)
    # The input position where the last `stuck_after` runs failed in a row, and why (stuck.py):
    # the processor meets that message again at every restart until an operator skips it.
    stuck: StuckAt | None = None
    # The input partitions this run reads ("topic/partition"); scaled out, the tasks this
    # instance owns of how many, and how often its tasks changed (each change rebuilds state).
    partitions: list[str] = field(default_factory=list)
    tasks: list[int] | None = None
    task_count: int | None = None
    rebalances: int = 0
    # Records handled again to rebuild state (outputs discarded), and input partitions whose
    # state came from local disk instead (kept_state.py), since the service started.
    replayed: int = 0
    restored_partitions: int = 0

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def stalled(self, after_seconds: float) -> bool:
        """Input has been waiting, with nothing consumed and committed, for `after_seconds`."""
        if self.total_lag == 0 or self.waiting_since is None:
            return False
        # An idle processor's last progress is old; only the wait since input arrived counts.
        since = max(self.waiting_since, self.last_progress_at or 0.0)
        return time.time() - since > after_seconds
