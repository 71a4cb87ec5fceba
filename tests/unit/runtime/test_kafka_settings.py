"""Who a client is: KAFKA_SASL_* settings and the options every client is built with."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from services.runtime.kafka import connection_options, login_hint
from services.runtime.settings import KafkaSettings


def test_without_a_user_a_client_is_plaintext_and_with_one_it_logs_in_with_scram() -> None:
    assert KafkaSettings().security_protocol == "PLAINTEXT"
    assert KafkaSettings().principal is None
    kafka = KafkaSettings(sasl_username="intake", sasl_password=SecretStr("pw"))
    assert kafka.security_protocol == "SASL_PLAINTEXT"
    assert kafka.principal == "intake"
    options = connection_options(kafka)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("intake", "pw")


def test_a_secure_protocol_without_a_password_names_the_settings_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "intake")
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSettings()


def test_the_password_may_come_from_a_file_and_travels_to_a_child_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "intake.password"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "intake")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret))
    kafka = KafkaSettings()
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(kafka)
    env = kafka.environment()
    assert (
        env["KAFKA_SASL_PASSWORD"] == "s3cret"
        and env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    )
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="KAFKA_SASL_PASSWORD_FILE"):
        KafkaSettings()


def test_as_principal_keeps_the_cluster_and_changes_the_login() -> None:
    admin = KafkaSettings(
        bootstrap_servers="b:1", sasl_username="admin", sasl_password=SecretStr("a")
    )
    intake = admin.as_principal("intake", "i")
    assert (intake.bootstrap_servers, intake.principal) == ("b:1", "intake")
    assert admin.principal == "admin"


def test_sasl_ssl_builds_a_tls_context() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL", sasl_username="x", sasl_password=SecretStr("y")
    )
    assert connection_options(kafka)["ssl_context"] is not None


def test_a_command_s_kafka_error_says_what_the_login_has_to_do_with_it() -> None:
    from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

    anonymous = KafkaSettings()
    assert "KAFKA_SASL_USERNAME" in login_hint(KafkaConnectionError("no"), anonymous)
    auditor = KafkaSettings(sasl_username="auditor", sasl_password=SecretStr("x"))
    assert login_hint(KafkaConnectionError("no"), auditor) == ""
    refused = login_hint(TopicAuthorizationFailedError("t.assist.events"), auditor)
    assert "auditor may not" in refused and "contracts/access.py" in refused
