"""A fresh broker for one benchmark run: its own data directory and free ports.

The broker requires SASL/SCRAM-SHA-512 and checks ACLs, as every deployment's does. It also
listens, on a port of its own, without authentication (anonymous clients are super users
there): only the auth phase uses that listener, to measure what authentication costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka.kafkactl import Broker, start_broker, stop_broker
from deploy.kafka.logins import admin_settings, principal_settings
from deploy.kafka.probe import free_ports
from services.runtime.settings import KafkaSettings


@dataclass(frozen=True)
class BenchBroker:
    broker: Broker
    open_port: int  # the listener without authentication (the auth phase only)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def credentials(self) -> Path:
        return self.broker.credentials_file

    def admin(self) -> KafkaSettings:
        """The administrator's login: it makes the logins, topics and grants."""
        return admin_settings(self.bootstrap, self.credentials)

    def login(self, principal: str) -> KafkaSettings:
        """`principal`'s login (once `ensure_logins` has made it)."""
        return principal_settings(self.admin(), self.credentials, principal)

    def open(self) -> KafkaSettings:
        """The unauthenticated listener: no login, no ACL evaluated (a super user)."""
        return KafkaSettings(bootstrap_servers=f"127.0.0.1:{self.open_port}")


@contextmanager
def fresh_broker(workdir: Path, timeout: float = 150) -> Iterator[BenchBroker]:
    """Start a single-node KRaft broker under `workdir`, stop it on the way out."""
    data_dir = workdir / "kafka"
    port, controller_port, open_port = free_ports(3)  # held together: three different ports
    broker = start_broker(data_dir, port, controller_port, timeout=timeout, open_port=open_port)
    try:
        yield BenchBroker(broker, open_port)
    finally:
        stop_broker(data_dir)
