"""Logins to the local broker: the administrator's, and one per principal of contracts/access.py.

`ensure_logins` is what a deployment does once its broker runs (make run, the test session,
the benchmark): every principal gets a password in the broker's credentials.json and its SCRAM
credential on the broker. Each service is then started with its own principal's login
(`principal_environment`), never the administrator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from contracts.access import PRINCIPALS
from deploy.kafka.credentials import ADMIN, ensure_credentials, password_of
from services.runtime.settings import KafkaSettings
from services.runtime.topic_admin import ensure_principals


def admin_settings(bootstrap: str, credentials: Path, **options: Any) -> KafkaSettings:
    """The administrator's login: it creates topics, users and grants; no service uses it.
    `options`: other KafkaSettings fields (linger_ms ...)."""
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_username=ADMIN,
        sasl_password=SecretStr(password_of(credentials, ADMIN)),
    ).model_copy(update=options)


def principal_settings(base: KafkaSettings, credentials: Path, principal: str) -> KafkaSettings:
    """The same broker as `base`, logged in as `principal`."""
    return base.as_principal(principal, password_of(credentials, principal))


async def ensure_logins(admin: KafkaSettings, credentials: Path) -> dict[str, str]:
    """Every principal's password (made up once, kept 0600) and SCRAM credential."""
    passwords = ensure_credentials(credentials, [ADMIN, *PRINCIPALS])
    await ensure_principals(admin, {p: passwords[p] for p in PRINCIPALS})
    return passwords
