"""The console's own settings (ASSIST_CONSOLE_*): which services it watches, and how often."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Every service of the local stack at its default port (interfaces.md).
DEFAULT_SERVICES: dict[str, str] = {
    "intake": "http://127.0.0.1:8001",
    "identification": "http://127.0.0.1:8002",
    "classification": "http://127.0.0.1:8003",
    "feedback": "http://127.0.0.1:8004",
    "audit": "http://127.0.0.1:8005",
    "referral": "http://127.0.0.1:8006",
    "chainwriter": "http://127.0.0.1:8007",
}


class ConsoleSettings(BaseSettings):
    """ASSIST_CONSOLE_SERVICES is a JSON object: service name -> base URL."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_CONSOLE_", extra="ignore")
    services: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SERVICES))
    poll_seconds: float = Field(default=2.0, gt=0, description="how often /healthz is polled")
    poll_timeout_seconds: float = Field(default=2.0, gt=0)
    refresh_seconds: int = Field(default=5, ge=1, description="the page reloads itself this often")
    dead_letters_shown: int = Field(default=20, ge=1, le=500)
    dead_letters_kept: int = Field(default=500, ge=1, description="kept in memory for inspection")
    trend_sample_seconds: float = Field(
        default=10.0, gt=0, description="how often the last hour's charts take a sample"
    )
    session_hours: float = Field(default=8.0, gt=0, description="lifetime of the login cookie")
