"""The audit's stream handler: folds every chain record into the index; says when to checkpoint.

It runs in a Processor over `assist.chain` that replays the chain from its beginning at every
start, so the index is rebuilt from the log whenever it is lost. Once caught up (`ready`: the
log read to its end as of the start, not only to the offsets committed last time, so that the
first tree head after a restart covers at least what the last one before it did), every
`every_events` new events or `seconds` after the last checkpoint (if anything was folded
since), `tick` hands a snapshot of the heads to the checkpointer; the first tick after a start
does so at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.checkpointer import HeadsSnapshot
from services.audit.config import CheckpointSettings
from services.audit.index import ChainIndex
from services.runtime.messages import Inbound, Outbound


class ChainIndexer:
    service = "audit"

    def __init__(
        self,
        checkpoints: CheckpointSettings,
        cache_bytes: int,
        submit: Callable[[HeadsSnapshot], bool],
        writer_key: Ed25519PublicKey | None = None,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.index = ChainIndex(cache_bytes, writer_key)
        self._settings = checkpoints
        self._submit = submit
        self._ready = ready
        self._since_checkpoint = 0
        self._last_checkpoint_at: datetime | None = None

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if self.index.fold(
            message.partition, message.offset, message.key, message.value, message.headers
        ):
            self._since_checkpoint += 1
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        if self._checkpoint_due(now) and self._ready():
            snapshot = HeadsSnapshot(
                dict(self.index.heads_map),
                dict(self.index.positions),
                now,
                self.index.tree_sizes(),
                {p: log.tree for p, log in self.index.logs.items()},
            )
            if self._submit(snapshot):
                self._since_checkpoint, self._last_checkpoint_at = 0, now
        return []

    def _checkpoint_due(self, now: datetime) -> bool:
        if self._since_checkpoint == 0:
            return False
        if self._last_checkpoint_at is None:
            return True
        if self._since_checkpoint >= self._settings.every_events:
            return True
        return (now - self._last_checkpoint_at).total_seconds() >= self._settings.seconds
