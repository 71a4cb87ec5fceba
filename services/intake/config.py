"""Intake's own settings (the shared ASSIST_* ones are in services/runtime/settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    """ASSIST_INTAKE_*: how long a request waits for the broker before it is told to retry."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_INTAKE_", extra="ignore")
    # A request whose event the broker has not confirmed by then is answered 503 with
    # Retry-After, and its event is aborted: nothing of it is ever seen (services/intake/durable).
    durable_seconds: float = Field(default=5.0, gt=0, le=60)
    # Requests per transaction at most: more wait for the next one.
    max_batch: int = Field(default=1000, ge=1)
