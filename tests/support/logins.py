"""Who the tests log in as on each broker they use: the administrator for setting up and
reading topics, and each service, department or auditor as its own principal, as in production.

Every broker the tests start (the session's, a test's own) is registered here by bootstrap
address, so a service process started against it logs in as itself without each test saying so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka.kafkactl import Broker
from deploy.kafka.logins import admin_settings, ensure_logins, principal_settings
from services.runtime.settings import KafkaSettings


@dataclass(frozen=True)
class Logins:
    admin: KafkaSettings
    credentials: Path | None  # None: a broker without authentication (an outside cluster)

    def settings(self, principal: str) -> KafkaSettings:
        if self.credentials is None:
            return self.admin
        return principal_settings(self.admin, self.credentials, principal)

    def env(self, principal: str) -> dict[str, str]:
        """The KAFKA_* variables of a child process that logs in as `principal`."""
        return self.settings(principal).environment()


_BY_BOOTSTRAP: dict[str, Logins] = {}


def register(logins: Logins) -> Logins:
    _BY_BOOTSTRAP[logins.admin.bootstrap_servers] = logins
    return logins


def logins_of(bootstrap: str) -> Logins:
    """The logins of a broker the tests use (unauthenticated for one they did not start)."""
    return _BY_BOOTSTRAP.get(bootstrap) or Logins(
        KafkaSettings(bootstrap_servers=bootstrap, linger_ms=1), None
    )


def logins_for(broker: Broker) -> Logins:
    """Make every principal's login on a broker the tests started, and remember them."""
    admin = admin_settings(broker.bootstrap, broker.credentials_file, linger_ms=1)
    asyncio.run(ensure_logins(admin, broker.credentials_file))
    return register(Logins(admin, broker.credentials_file))
