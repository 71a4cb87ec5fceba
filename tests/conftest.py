"""Session-wide fixtures: one real Kafka broker for the whole run, isolated topics per test.

The broker is chosen in order: an existing cluster named by KAFKA_BOOTSTRAP_SERVERS (with
the administrator's login in KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD when it has
authentication); a testcontainers Kafka container when a Docker engine answers; otherwise the
project's own KRaft broker from deploy/kafka, with SASL/SCRAM and ACLs on, every principal of
contracts/access.py given its login. If none can be had the run fails and says why: a missing
broker never skips a test.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.logins import Logins, logins_for, logins_of, register

from contracts.topics import TopicNames
from deploy.kafka.kafkactl import KAFKA_VERSION, start_broker, stop_broker
from deploy.kafka.logins import ensure_logins
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

_BROKER: dict[str, object] = {"described": "", "tests": 0}


def _docker_engine_answers() -> bool:
    try:
        import docker  # testcontainers' client

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means: no engine here
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    explicit = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if explicit:
        _BROKER["described"] = f"the existing cluster at {explicit} (KAFKA_BOOTSTRAP_SERVERS)"
        outside = KafkaSettings(linger_ms=1)
        if outside.principal is not None:  # the administrator's login: make the others
            credentials = tmp_path_factory.mktemp("kafka-logins") / "credentials.json"
            asyncio.run(ensure_logins(outside, credentials))
            register(Logins(outside, credentials))
        yield explicit
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.4.0").with_kraft() as container:
            bootstrap = container.get_bootstrap_server()
            _BROKER["described"] = f"a testcontainers Kafka container at {bootstrap}"
            yield bootstrap
        return
    data_dir = tmp_path_factory.mktemp("kafka-broker")
    try:
        broker = start_broker(data_dir, port=0, controller_port=0, timeout=150)
    except Exception as error:  # noqa: BLE001 - say why, then fail the whole run
        pytest.fail(f"no Kafka broker could be started for the tests: {error}", pytrace=False)
    logins_for(broker)
    _BROKER["described"] = (
        f"the project's KRaft broker (Kafka {KAFKA_VERSION}, SASL/SCRAM and ACLs) at "
        f"{broker.bootstrap}, log {broker.log_file}"
    )
    try:
        yield broker.bootstrap
    finally:
        stop_broker(data_dir)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
        _BROKER["tests"] = int(str(_BROKER["tests"])) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _BROKER["described"]:
        terminalreporter.write_line(
            f"{_BROKER['tests']} tests produced to and consumed from a real Kafka broker: "
            f"{_BROKER['described']}"
        )


@pytest.fixture
def logins(kafka_bootstrap: str) -> Logins:
    """The session broker's logins: the administrator's, and each principal's."""
    return logins_of(kafka_bootstrap)


@pytest.fixture
def kafka(logins: Logins) -> KafkaSettings:
    """The administrator's login: tests set up topics and read them as it."""
    return logins.admin


@pytest.fixture
async def topics(kafka: KafkaSettings) -> TopicNames:
    """A fresh namespace of every catalog topic, so tests never see each other's events."""
    namespace = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka, TopicSettings(namespace=namespace, partitions=3))
    return TopicNames(namespace)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
