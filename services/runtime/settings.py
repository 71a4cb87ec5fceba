"""Configuration by environment (pydantic-settings): Kafka, topics, and each service's own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """KAFKA_BOOTSTRAP_SERVERS, who this client is (KAFKA_SASL_*), and the producer's
    durability."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")
    bootstrap_servers: str = "127.0.0.1:9092"
    # Every client logs in as its own principal (contracts/access.py): SASL/SCRAM-SHA-512 on
    # the local broker, with TLS as well (SASL_SSL) on a cluster. Without a protocol given,
    # a client with a user name uses SASL_PLAINTEXT and one without PLAINTEXT.
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] | None = None
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # Or a file that holds it (a container secret): KAFKA_SASL_PASSWORD_FILE.
    sasl_password_file: Path | None = None
    # The CA that signed the brokers' certificates (SASL_SSL); the system's CAs if unset.
    ssl_cafile: Path | None = None
    # acks=all: a 202 or a committed offset means every in-sync replica has the event.
    acks: Literal["all", "1", "0"] = "all"
    linger_ms: int = Field(default=5, ge=0)
    request_timeout_ms: int = Field(default=30_000, ge=1000)
    transaction_timeout_ms: int = Field(default=60_000, ge=1000)
    # A transaction's first request often meets CONCURRENT_TRANSACTIONS while the broker is
    # still writing the previous commit's markers; aiokafka retries after this long. Its
    # default, 100 ms, was added to most hops of the loop: back-to-back transactions took
    # 113 ms each with it, 11-19 ms with 3-10 ms here.
    txn_retry_backoff_ms: int = Field(default=3, ge=1)
    # The longest a fetch waits at the broker for new data. A read_committed fetch is not
    # always woken when a commit makes data visible; it then waits this long (tail latency of
    # a hop), while a short wait costs idle fetch requests (20 a second per consumer at 50).
    fetch_max_wait_ms: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _credentials_come_together(self) -> KafkaSettings:
        if self.sasl_password is None and self.sasl_password_file is not None:
            try:
                self.sasl_password = SecretStr(self.sasl_password_file.read_text().strip())
            except OSError as error:
                raise ValueError(f"KAFKA_SASL_PASSWORD_FILE: cannot read it ({error})") from None
        if self.security_protocol is None:
            self.security_protocol = "SASL_PLAINTEXT" if self.sasl_username else "PLAINTEXT"
        if self.security_protocol != "PLAINTEXT" and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: both required with "
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol}"
            )
        return self

    @property
    def principal(self) -> str | None:
        """The principal this client logs in as, None for an unauthenticated client."""
        return self.sasl_username if self.security_protocol != "PLAINTEXT" else None

    def as_principal(self, username: str, password: str) -> KafkaSettings:
        """The same cluster, logged in as another principal."""
        return self.model_copy(
            update={
                "security_protocol": (
                    self.security_protocol
                    if self.security_protocol != "PLAINTEXT"
                    else "SASL_PLAINTEXT"
                ),
                "sasl_username": username,
                "sasl_password": SecretStr(password),
            }
        )

    def environment(self) -> dict[str, str]:
        """The KAFKA_* variables that give a child process this client's cluster and login."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": str(self.security_protocol),
        }
        if self.sasl_username and self.sasl_password:
            env |= {
                "KAFKA_SASL_MECHANISM": self.sasl_mechanism,
                "KAFKA_SASL_USERNAME": self.sasl_username,
                "KAFKA_SASL_PASSWORD": self.sasl_password.get_secret_value(),
            }
        if self.ssl_cafile is not None:
            env["KAFKA_SSL_CAFILE"] = str(self.ssl_cafile)
        return env


class TopicSettings(BaseSettings):
    """How topics are created: 1/1 on one broker, 3/2 on a real cluster."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_TOPIC_", extra="ignore")
    replication: int = Field(default=1, ge=1)
    min_isr: int = Field(default=1, ge=1)
    partitions: int | None = Field(default=None, ge=1, description="override every topic's count")
    # Prefix of every topic name: lets several systems (or test runs) share one cluster.
    namespace: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")


class ServiceSettings(BaseSettings):
    """Settings every service shares; each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_", extra="ignore")
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: str = "INFO"
    data_dir: Path = Path("var")
    # File of bearer tokens (local set-up); production passes ASSIST_TOKENS_FILE from a secret.
    tokens_file: Path | None = None
    # This instance's name among the instances of its service: a scaled-out processor's tasks
    # are dealt in the order of the names, so each must be unique and kept across restarts.
    instance: str = "0"
    # The most tasks a scaled-out processor's partitions are grouped into, so the most of its
    # instances that can share the work (services/runtime/partition_tasks.py). Each task costs
    # a transaction of its own in a batch: make bench measured 8 tasks carrying about 12 % less
    # than 4 on one instance, 4 about 16 % less than 1 (which leaves no room for a second).
    scale_out_tasks: int = Field(default=4, ge=1)
    # How often feedback looks for referrals past their due date.
    overdue_check_seconds: float = Field(default=5.0, gt=0)
    # /healthz reports a processor stalled when its input has waited this long with no progress.
    stall_seconds: float = Field(default=30.0, gt=0)


def service_settings(name: str, default_port: int) -> ServiceSettings:
    """The shared ASSIST_* settings, with this service's port from ASSIST_<NAME>_PORT."""
    port = os.environ.get(f"ASSIST_{name.upper()}_PORT", str(default_port))
    return ServiceSettings().model_copy(update={"http_port": int(port)})
