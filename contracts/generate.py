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

from contracts.topics import CATALOG
from events.audit import ChainAccessed, Checkpoint, TreeHead, TreeHeadWitnessed
from events.envelope import Envelope, Payload
from events.feedback import DeadLetter, DeadLetterRedriven, FeedbackSubmitted
from events.legacy import LEGACY_PAYLOADS
from events.registry import PAYLOAD_TYPES
from events.skips import MessageSkipped, SkipOrdered

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"


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
    files["DeadLetter.v1.json"] = _schema(DeadLetter, "DeadLetter")
    files["DeadLetterRedriven.v1.json"] = _schema(DeadLetterRedriven, "DeadLetterRedriven")
    files["SkipOrdered.v1.json"] = _schema(SkipOrdered, "SkipOrdered")
    files["MessageSkipped.v1.json"] = _schema(MessageSkipped, "MessageSkipped")
    files["ChainAccessed.v1.json"] = _schema(ChainAccessed, "ChainAccessed")
    files["Checkpoint.v1.json"] = _schema(Checkpoint, "Checkpoint")
    files["TreeHead.v1.json"] = _schema(TreeHead, "TreeHead")
    files["TreeHeadWitnessed.v1.json"] = _schema(TreeHeadWitnessed, "TreeHeadWitnessed")
    return files


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3 document: every topic, who publishes and subscribes, and its messages."""
    current = {p.event_type.value: p.schema_version for p in PAYLOAD_TYPES.values()}
    messages: dict[str, Any] = {}
    others = {
        "FeedbackSubmitted": 1,
        "DeadLetter": 1,
        "DeadLetterRedriven": 1,
        "SkipOrdered": 1,
        "MessageSkipped": 1,
        "ChainAccessed": 1,
        "Checkpoint": 1,
        "TreeHead": 1,
        "TreeHeadWitnessed": 1,
    }
    for name, version in {**current, **others}.items():
        messages[name] = {
            "name": name,
            "contentType": "application/json",
            "payload": {"$ref": f"schemas/{name}.v{version}.json"},
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in CATALOG:
        channel_id = spec.name.replace(".", "_")
        channels[channel_id] = {
            "address": spec.name,
            "description": spec.description,
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in spec.messages},
            "bindings": {
                "kafka": {
                    "partitions": spec.partitions,
                    "topicConfiguration": {
                        "retention.ms": spec.retention_ms,
                        "cleanup.policy": ["delete"],
                    },
                    "bindingVersion": "0.5.0",
                }
            },
            "x-key": spec.key,
        }
        for role, action in ((spec.publishers, "send"), (spec.subscribers, "receive")):
            for who in role:
                operations[f"{who}_{action}_{channel_id}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{channel_id}"},
                    "summary": f"{who} {'publishes to' if action == 'send' else 'reads'} "
                    f"{spec.name}",
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "assist-chain topics",
            "version": "1.0.0",
            "description": "Every topic of the assistance chain. Every chain event carries the "
            "envelope of interfaces.md; JSON Schemas per event type and version are in schemas/. "
            "Messages are canonical JSON (sorted keys, no spaces, UTF-8); money is a decimal "
            "string; times are ISO 8601 with a zone. Consumers de-duplicate on event_id.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
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
