"""The policy pages' own settings (ASSIST_POLICY_PAGES_*): the session, and how a page waits."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PolicyPageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSIST_POLICY_PAGES_", extra="ignore")
    session_hours: float = Field(default=8.0, gt=0, description="lifetime of the login cookie")
    # A run over 100,000 households takes 11-16 s: the page waits this long for it, then shows
    # its progress and reloads itself every refresh_seconds until it is done.
    wait_seconds: float = Field(default=2.0, gt=0)
    refresh_seconds: int = Field(default=2, ge=1)
