"""Generate contracts/ from events/: a JSON Schema per event type and version, and AsyncAPI 3.

`make contracts` writes them; tests/contract fails when the committed files differ from what
the models generate, so a model is never changed without its contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, create_model

from contracts import asyncapi_kafka as kafka
from contracts.access import department_principal
from contracts.examples.messages import Example, message_examples
from contracts.topics import CATALOG, FEEDBACK, TopicSpec, referral_topic
from events.audit import ChainAccessed, Checkpoint, TreeHead, TreeHeadV1, TreeHeadWitnessed
from events.envelope import Envelope, Payload
from events.feedback import DeadLetter, DeadLetterRedriven, FeedbackRefused, FeedbackSubmitted
from events.legacy import LEGACY_PAYLOADS
from events.registry import PAYLOAD_TYPES
from events.skips import MessageSkipped, SkipOrdered
from events.types import Department, EventType

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"
_DEPARTMENTS = frozenset(d.value for d in Department)


def event_model(payload: type[Payload]) -> type[BaseModel]:
    """The envelope with this payload type: what a consumer of that event reads."""
    name = f"{payload.event_type.value}V{payload.schema_version}"
    model: type[BaseModel] = create_model(
        name,
        __base__=Envelope,
        __doc__=(payload.__doc__ or "").strip(),
        event_type=(Literal[payload.event_type.value], ...),  # type: ignore[arg-type]
        schema_version=(Literal[payload.schema_version], ...),  # type: ignore[arg-type]
        payload=(payload, ...),
    )
    return model


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["title"] = title
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_files() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every event type at every version, and other messages."""
    files: dict[str, dict[str, Any]] = {}
    for payload in (*PAYLOAD_TYPES.values(), *LEGACY_PAYLOADS):
        name = f"{payload.event_type.value}.v{payload.schema_version}.json"
        files[name] = _schema(event_model(payload), payload.event_type.value)
    files["FeedbackSubmitted.v1.json"] = _schema(FeedbackSubmitted, "FeedbackSubmitted")
    files["FeedbackRefused.v1.json"] = _schema(FeedbackRefused, "FeedbackRefused")
    files["DeadLetter.v1.json"] = _schema(DeadLetter, "DeadLetter")
    files["DeadLetterRedriven.v1.json"] = _schema(DeadLetterRedriven, "DeadLetterRedriven")
    files["SkipOrdered.v1.json"] = _schema(SkipOrdered, "SkipOrdered")
    files["MessageSkipped.v1.json"] = _schema(MessageSkipped, "MessageSkipped")
    files["ChainAccessed.v1.json"] = _schema(ChainAccessed, "ChainAccessed")
    files["Checkpoint.v1.json"] = _schema(Checkpoint, "Checkpoint")
    files["TreeHead.v1.json"] = _schema(TreeHeadV1, "TreeHead")
    files["TreeHead.v2.json"] = _schema(TreeHead, "TreeHead")
    files["TreeHeadWitnessed.v1.json"] = _schema(TreeHeadWitnessed, "TreeHeadWitnessed")
    return files


def _message(name: str, version: int, examples: list[Example]) -> dict[str, Any]:
    """A message of the document: its payload schema, record key, headers and examples."""
    message: dict[str, Any] = {
        "name": name,
        "contentType": "application/json",
        "payload": {"$ref": f"schemas/{name}.v{version}.json"},
        "bindings": {
            "kafka": {"key": kafka.key_schema(name), "bindingVersion": kafka.KAFKA_BINDING}
        },
    }
    headers = kafka.headers_schema(name)
    if headers is not None:
        message["headers"] = headers
    if examples:
        model = _example_model(name)
        for example in examples:
            model.model_validate(example.payload)  # an example that no longer fits stops here
        message["examples"] = [example.as_asyncapi() for example in examples]
    return message


def _example_model(name: str) -> type[BaseModel]:
    if name in EventType.__members__.values():
        return event_model(PAYLOAD_TYPES[EventType(name)])
    others: dict[str, type[BaseModel]] = {
        "FeedbackSubmitted": FeedbackSubmitted,
        "FeedbackRefused": FeedbackRefused,
    }
    return others[name]


def _topic_configuration(spec: TopicSpec) -> dict[str, Any]:
    policy = spec.extra_config.get("cleanup.policy", "delete")
    return {"retention.ms": spec.retention_ms, "cleanup.policy": policy.split(",")}


def _channel(spec: TopicSpec, department: Department | None) -> dict[str, Any]:
    description = spec.description
    if department is not None:
        description += (
            f"\n\nRead it as `{department_principal(department)}` in the consumer group of the "
            "same name. " + kafka.READ_COMMITTED_WHY + " Commit an offset only after the "
            "record is handled (`enable.auto.commit=false`): a restart re-delivers what was not "
            "yet handled, never skips it. A new group starts from the beginning "
            "(`auto.offset.reset=earliest`), so no referral issued before it is missed. Records "
            "of one household are in one partition, in chain order; handle a repeat by "
            "event_id (a refusal by refusal_id)."
        )
    elif spec.name == FEEDBACK.name:
        description += (
            "\n\nA department writes here as its principal, keyed by referral_id, with "
            "`acks=all` and `enable.idempotence=true`. Each answer carries a feedback_id (a "
            "UUID) the department chooses once and re-sends unchanged on every retry."
        )
    return {
        "address": spec.name,
        "description": description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in spec.messages},
        "bindings": {
            "kafka": {
                "partitions": spec.partitions,
                "topicConfiguration": _topic_configuration(spec),
                "bindingVersion": kafka.KAFKA_BINDING,
            }
        },
        "x-key": spec.key,
    }


def _operation(spec: TopicSpec, channel_id: str, who: str, action: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "summary": f"{who} {'publishes to' if action == 'send' else 'reads'} {spec.name}",
    }
    if who not in _DEPARTMENTS:
        return operation
    department = Department(who)
    principal = department_principal(department)
    operation["messages"] = [
        {"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in spec.messages
    ]
    if action == "receive":
        operation["description"] = (
            f"{who}'s referrals and the refusals of its answers. Consumer: principal and "
            f"group `{principal}`, `isolation.level=read_committed`, "
            "`enable.auto.commit=false` (commit after handling), "
            "`auto.offset.reset=earliest` (x-consumer-settings). Answer a ReferralIssued on "
            "assist.feedback; see contracts/examples/department_consumer.py."
        )
        operation["bindings"] = {"kafka": kafka.receive_binding(department)}
        operation["x-consumer-settings"] = kafka.consumer_settings(department)
    else:
        operation["description"] = (
            f"{who}'s answers to its referrals, keyed by referral_id, each with its own "
            "feedback_id (the same on a retry). Producer: principal "
            f"`{principal}`, `acks=all`, `enable.idempotence=true` (x-producer-settings). An "
            f"answer that is not taken comes back as FeedbackRefused on {referral_topic(who)}."
        )
        operation["bindings"] = {"kafka": kafka.send_binding(department)}
        operation["x-producer-settings"] = kafka.producer_settings(department)
    return operation


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3 document: every topic, who publishes and subscribes, and its messages;
    the servers and how to log in; each message's key, headers and examples."""
    current = {p.event_type.value: p.schema_version for p in PAYLOAD_TYPES.values()}
    others = {
        "FeedbackSubmitted": 1,
        "FeedbackRefused": 1,
        "DeadLetter": 1,
        "DeadLetterRedriven": 1,
        "SkipOrdered": 1,
        "MessageSkipped": 1,
        "ChainAccessed": 1,
        "Checkpoint": 1,
        "TreeHead": 2,
        "TreeHeadWitnessed": 1,
    }
    examples = message_examples()
    messages = {
        name: _message(name, version, examples.get(name, []))
        for name, version in {**current, **others}.items()
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    departments = {referral_topic(d): d for d in Department}
    for spec in CATALOG:
        channel_id = spec.name.replace(".", "_")
        channels[channel_id] = _channel(spec, departments.get(spec.name))
        for role, action in ((spec.publishers, "send"), (spec.subscribers, "receive")):
            for who in role:
                operations[f"{who}_{action}_{channel_id}"] = _operation(
                    spec, channel_id, who, action
                )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "assist-chain topics",
            "version": "1.0.0",
            "description": "Every topic of the assistance chain. Every chain event carries the "
            "envelope of interfaces.md; JSON Schemas per event type and version are in schemas/. "
            "Messages are canonical JSON (sorted keys, no spaces, UTF-8); money is a decimal "
            "string; times are ISO 8601 with a zone. Consumers de-duplicate on event_id.\n\n"
            + kafka.READ_COMMITTED_WHY
            + "\n\nA department: log in as `department.<id>` (servers, securitySchemes), read "
            "`assist.referrals.<id>` (operations `<id>_receive_...`, with the consumer "
            "settings that matter), answer on `assist.feedback` (`<id>_send_...`). A runnable "
            "consumer that needs only these and its credentials: "
            "contracts/examples/department_consumer.py.",
        },
        "defaultContentType": "application/json",
        "servers": kafka.servers(),
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "securitySchemes": kafka.security_schemes()},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    files = {SCHEMAS / name: render(schema) for name, schema in schema_files().items()}
    files[HERE / "asyncapi.json"] = render(asyncapi())
    return files


def main() -> int:
    SCHEMAS.mkdir(exist_ok=True)
    expected = expected_files()
    for stale in set(SCHEMAS.glob("*.json")) - set(expected):
        stale.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} contract files under {HERE.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
