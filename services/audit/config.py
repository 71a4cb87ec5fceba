"""The audit service's own settings (the shared ASSIST_* ones are in services/runtime/settings)."""

from __future__ import annotations

import uuid

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    """ASSIST_AUDIT_*: how much of the chain log the audit keeps in memory."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_AUDIT_", extra="ignore")
    # Stored bytes of whole chains kept in memory (least recently used evicted first); a chain
    # not in memory is read from the log at its indexed positions instead.
    cache_mb: float = Field(default=256.0, ge=0)
    # Consumers that fetch a chain not in memory from the log, in parallel.
    log_readers: int = Field(default=4, ge=1, le=32)
    # Longest a rebuild of the index may take before it gives up (the live index stays).
    rebuild_timeout_seconds: float = Field(default=600.0, gt=0)
    # An operator's decision, after looking into it, that the chain log no longer extending
    # this tree head (the last signed) is accepted: a log restored or recreated on purpose.
    # Until then the audit signs nothing that contradicts what it signed before.
    accept_contradicted_tree_head: uuid.UUID | None = None
    # How long an auditor's log-in to the household pages lasts (the cookie's lifetime).
    session_hours: float = Field(default=8.0, gt=0)

    @property
    def cache_bytes(self) -> int:
        return int(self.cache_mb * 1024 * 1024)


class CheckpointSettings(BaseSettings):
    """ASSIST_CHECKPOINT_*: how often a signed checkpoint is published."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_CHECKPOINT_", extra="ignore")
    # After this many new chain events, or this long after the last checkpoint if anything new
    # was chained. A checkpoint costs about 1 s of CPU per 100,000 households (off the loop).
    every_events: int = Field(default=10_000, ge=1)
    seconds: float = Field(default=60.0, gt=0)
    # Heads per message on assist.checkpoints (about 100 bytes each): keeps every message far
    # below Kafka's 1 MB default limit however many households there are.
    heads_per_part: int = Field(default=2000, ge=1)
    # Tree heads kept in memory (about 1 KB each; 10,000 is a week at one a minute), and read
    # back from assist.checkpoints at start, besides every tree head a witness co-signed.
    kept_tree_heads: int = Field(default=10_000, ge=1)
