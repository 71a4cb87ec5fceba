"""contracts/asyncapi.json is valid AsyncAPI 3.0.0 (the official JSON Schema, vendored) and
tells a department what it needs: where to connect, how to log in, how to consume."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, ValidationError

from contracts.access import Operation, Resource, allowed, department_principal, grants
from contracts.asyncapi_kafka import LOCAL_CREDENTIALS
from contracts.generate import HERE
from contracts.topics import CATALOG, referral_topic
from deploy.kafka.credentials import credentials_file
from events.types import Department

OFFICIAL = HERE / "vendor" / "asyncapi" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads((HERE / "asyncapi.json").read_text(encoding="utf-8"))


def _problems(validator: Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def _every_reason(errors: Iterable[ValidationError]) -> Iterator[str]:
    """Each error's message and those of its causes (a oneOf says only that none matched)."""
    for error in errors:
        yield f"{error.json_path}: {error.message}"
        yield from _every_reason(error.context or ())


def test_the_document_is_valid_asyncapi_3_0_0(
    validator: Draft7Validator, document: dict[str, Any]
) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert _problems(validator, document) == []


def _drop(path: tuple[str, ...]) -> Any:
    def breaks(document: dict[str, Any]) -> None:
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        del parent[path[-1]]

    return breaks


def _set(path: tuple[str, ...], value: object) -> Any:
    def breaks(document: dict[str, Any]) -> None:
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value

    return breaks


DEPARTMENT_OP = "medical_security_receive_assist_referrals_medical_security"
BROKEN = {
    "info removed": (_drop(("info",)), "'info' is a required property"),
    "server without host": (_drop(("servers", "local", "host")), "'host' is a required property"),
    "operation without channel": (
        _drop(("operations", DEPARTMENT_OP, "channel")),
        "'channel' is a required property",
    ),
    "unknown security scheme type": (
        _set(("components", "securitySchemes", "saslScramSha512", "type"), "scramSha1"),
        "scramSha1",
    ),
    "unknown kafka binding version": (
        _set(("operations", DEPARTMENT_OP, "bindings", "kafka", "bindingVersion"), "9.9.9"),
        "9.9.9",
    ),
    "example with a field AsyncAPI has no place for": (
        _set(("components", "messages", "ReferralIssued", "examples", 0, "key"), "hz-1"),
        "Additional properties are not allowed ('key'",
    ),
}


@pytest.mark.parametrize("breaks, expected", BROKEN.values(), ids=list(BROKEN))
def test_the_validator_reports_a_broken_document(
    validator: Draft7Validator, document: dict[str, Any], breaks: Any, expected: str
) -> None:
    broken = copy.deepcopy(document)
    breaks(broken)
    assert _problems(validator, broken), "the official schema took a broken document"
    reasons = list(_every_reason(validator.iter_errors(broken)))
    assert any(expected in reason for reason in reasons), reasons


def test_servers_local_and_cluster_log_in_with_scram_sha_512(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["saslScramSha512"]
    assert scheme["type"] == "scramSha512"
    assert "department.medical_security" in scheme["description"]
    local, cluster = document["servers"]["local"], document["servers"]["cluster"]
    assert (local["host"], local["protocol"]) == ("127.0.0.1:9092", "kafka")
    assert cluster["protocol"] == "kafka-secure"
    assert set(cluster["variables"]) == {"broker", "port"}
    assert local["x-client-settings"]["security.protocol"] == "SASL_PLAINTEXT"
    assert cluster["x-client-settings"]["security.protocol"] == "SASL_SSL"
    for server in (local, cluster):
        assert server["security"] == [{"$ref": "#/components/securitySchemes/saslScramSha512"}]
        assert server["bindings"]["kafka"] == {"bindingVersion": "0.5.0"}


def test_the_local_credentials_file_is_where_the_broker_keeps_it() -> None:
    # `make run` starts the broker with --data-dir var/kafka (Makefile: $(DATA)/kafka).
    assert credentials_file(Path("var") / "kafka") == Path(LOCAL_CREDENTIALS).resolve()


@pytest.mark.parametrize("department", list(Department), ids=str)
def test_a_departments_consumer_settings_are_the_ones_that_matter(
    document: dict[str, Any], department: Department
) -> None:
    channel_id = referral_topic(department).replace(".", "_")
    operation = document["operations"][f"{department.value}_receive_{channel_id}"]
    settings = operation["x-consumer-settings"]
    principal = department_principal(department)
    assert settings["isolation.level"] == "read_committed"
    assert settings["enable.auto.commit"] is False
    assert settings["auto.offset.reset"] == "earliest"
    assert settings["group.id"] == settings["sasl.username"] == principal
    assert "read_committed" in document["channels"][channel_id]["description"]
    group = operation["bindings"]["kafka"]["groupId"]
    assert principal in group["examples"]
    # The group the document names is one the broker's ACLs let the department use.
    assert allowed(grants(), principal, Resource.GROUP, principal, Operation.READ)
    assert allowed(grants(), principal, Resource.TOPIC, referral_topic(department), Operation.READ)


@pytest.mark.parametrize("department", list(Department), ids=str)
def test_a_department_answers_on_assist_feedback_idempotently(
    document: dict[str, Any], department: Department
) -> None:
    operation = document["operations"][f"{department.value}_send_assist_feedback"]
    assert operation["x-producer-settings"]["acks"] == "all"
    assert operation["x-producer-settings"]["enable.idempotence"] is True
    assert operation["messages"] == [
        {"$ref": "#/channels/assist_feedback/messages/FeedbackSubmitted"}
    ]
    principal = department_principal(department)
    assert allowed(grants(), principal, Resource.TOPIC, "assist.feedback", Operation.WRITE)


def test_every_message_has_a_kafka_key_binding(document: dict[str, Any]) -> None:
    for name, message in document["components"]["messages"].items():
        kafka = message["bindings"]["kafka"]
        assert kafka["bindingVersion"] == "0.5.0", name
        assert kafka["key"]["type"] == "string" and kafka["key"]["description"], name


def test_chain_events_document_the_writer_signature_header(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    for spec in CATALOG:
        if spec.name.startswith("assist.referrals."):
            for name in spec.messages:
                signed = "assist-writer-signature" in messages[name].get("headers", {}).get(
                    "properties", {}
                )
                # Chain events are signed by the chain writer; a refusal is not a chain event.
                assert signed == (name != "FeedbackRefused"), name


def test_the_clock_topic_is_compacted(document: dict[str, Any]) -> None:
    configuration = document["channels"]["assist_clock"]["bindings"]["kafka"]
    assert configuration["topicConfiguration"]["cleanup.policy"] == ["compact"]
