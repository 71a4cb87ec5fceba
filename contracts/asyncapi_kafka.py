"""What a Kafka client needs beyond the topic catalog, as AsyncAPI 3.0 parts: the servers and
how to log in to them, each record's key and headers, and the consumer and producer settings a
department must use. contracts/generate.py puts them into asyncapi.json.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from contracts.access import department_principal
from contracts.topics import ENVELOPE_EVENTS
from events.feedback import FeedbackSubmitted
from events.types import Department, EventType, HouseholdId
from services.runtime.peek import EVENT_TYPE_HEADER
from services.runtime.writer_signature import HEADER

KAFKA_BINDING = "0.5.0"
SECURITY_SCHEME = "saslScramSha512"
# Where `make run` keeps the local broker's passwords (deploy/kafka/credentials.py; kafkactl
# prints it as `credentials=`).
LOCAL_CREDENTIALS = "var/kafka/credentials.json"
SASL_MECHANISM = "SCRAM-SHA-512"
PROTOCOL_OF_SERVER = {"local": "SASL_PLAINTEXT", "cluster": "SASL_SSL"}


def security_schemes() -> dict[str, Any]:
    return {
        SECURITY_SCHEME: {
            "type": "scramSha512",
            "description": (
                "SASL/SCRAM-SHA-512, one principal per service and one per department. A "
                "department logs in as `department.<department id>` (e.g. "
                f"`{department_principal(Department.MEDICAL_SECURITY)}`), with the password "
                "from the credentials file its deployment gives it: a JSON object principal -> "
                f"password, locally `{LOCAL_CREDENTIALS}` (mode 0600; `make run` prints where "
                "it is). Client settings: `security.protocol=SASL_PLAINTEXT` on the local "
                "broker, `SASL_SSL` on the cluster; `sasl.mechanism=SCRAM-SHA-512`; "
                "`sasl.username`/`sasl.password`. The broker's ACLs (contracts/access.py) let a "
                "department read only its own `assist.referrals.<id>`, write only "
                "`assist.feedback`, and use only consumer groups and transactional ids whose "
                "name starts with `department.<id>`; anything else is refused."
            ),
        }
    }


def servers() -> dict[str, Any]:
    security = [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}]
    bindings = {"kafka": {"bindingVersion": KAFKA_BINDING}}  # no schema registry: JSON Schema
    return {
        "local": {
            "host": "127.0.0.1:9092",
            "protocol": "kafka",
            "title": "The local broker of `make run`",
            "description": (
                "The one Apache Kafka 4 broker that `make run` starts on this machine "
                "(deploy/kafka), on the loopback only: listener SASL_PLAINTEXT, SCRAM-SHA-512, "
                f"no TLS. Passwords in `{LOCAL_CREDENTIALS}`."
            ),
            "security": security,
            "bindings": bindings,
            "x-client-settings": _client_settings("local"),
        },
        "cluster": {
            "host": "{broker}:{port}",
            "protocol": "kafka-secure",
            "title": "A three-node cluster (deploy/cluster)",
            "description": (
                "Any broker of the cluster bootstraps a client (list two or three for "
                "availability): listener SASL_SSL, that is TLS and then SCRAM-SHA-512. Trust "
                "the CA that signed the brokers' certificates (`ssl.ca.location`, "
                "KAFKA_SSL_CAFILE in contracts/examples) unless the system's trust store has "
                "it. See deploy/cluster/README.md."
            ),
            "variables": {
                "broker": {
                    "default": "kafka1",
                    "examples": ["kafka1", "kafka2", "kafka3", "localhost"],
                    "description": "A broker's host name as the deployment publishes it.",
                },
                "port": {
                    "default": "9092",
                    "examples": ["9092", "29092", "39092", "49092"],
                    "description": "The brokers' SASL_SSL listener: 9092 inside the "
                    "deployment's network, 29092/39092/49092 published on the host of "
                    "deploy/cluster's Compose file.",
                },
            },
            "security": security,
            "bindings": bindings,
            "x-client-settings": _client_settings("cluster"),
        },
    }


def _client_settings(server: str) -> dict[str, str]:
    return {"security.protocol": PROTOCOL_OF_SERVER[server], "sasl.mechanism": SASL_MECHANISM}


# ---- Record keys -------------------------------------------------------------------------


def _household_key() -> dict[str, Any]:
    return {
        **TypeAdapter(HouseholdId).json_schema(),
        "description": "The event's household_id, UTF-8. Every record of one household is in "
        "one partition, in chain order: a consumer sees a household's events in the order "
        "they happened.",
    }


def _referral_key() -> dict[str, Any]:
    schema = dict(FeedbackSubmitted.model_json_schema()["properties"]["referral_id"])
    schema.pop("title", None)
    return {
        **schema,
        "description": "The referral_id the answer is about, UTF-8: every answer to one "
        "referral is in one partition, in the order it was sent.",
    }


def _const(value: str, why: str) -> dict[str, Any]:
    return {"type": "string", "const": value, "description": why}


@cache  # a model's JSON Schema takes milliseconds, and every message asks
def _keys() -> dict[str, dict[str, Any]]:
    """Message name -> the JSON Schema of its record key, where it is not household_id."""
    policy = {"type": "string", "description": "The policy_version the event is about."}
    referral = _referral_key()
    return {
        "FeedbackSubmitted": referral,
        "FeedbackRefused": {
            "type": "string",
            "minLength": 1,
            "description": "The referral_id the refused answer named, UTF-8 (so a refusal is "
            "in the partition of that referral's other answers' refusals, and in their "
            "order); an answer that named none is keyed by its own position, "
            "`assist.feedback/<partition>/<offset>`. Not household_id: a refusal may land in "
            "another partition than the household's referrals, so it can overtake them.",
        },
        EventType.SIGNAL_RECEIVED.value: {
            "type": "string",
            "description": "On assist.monitoring: the pseudonym of the person_id, "
            "HMAC-SHA256 under the deployment's secret in hex (one person, one partition, no "
            "resident id in clear). On assist.events and assist.chain: the household_id.",
        },
        EventType.RECORD_REPORTED.value: {
            "type": "string",
            "description": "As SignalReceived: the person's pseudonym on assist.monitoring, "
            "the household_id on assist.events and assist.chain.",
        },
        EventType.POLICY_VERSION_PROPOSED.value: policy,
        EventType.POLICY_VERSION_APPROVED.value: policy,
        EventType.POLICY_VERSION_WITHDRAWN.value: policy,
        EventType.CLOCK_ADVANCED.value: _const("clock", "One key: compaction keeps the latest"),
        "DeadLetter": {
            "type": "string",
            "description": "Where the message came from: `<topic>/<partition>/<offset>`.",
        },
        "DeadLetterRedriven": {
            "type": "string",
            "format": "uuid",
            "description": "The dead_letter_id re-driven.",
        },
        "SkipOrdered": {"type": "string", "description": "The processor told to skip."},
        "MessageSkipped": {"type": "string", "description": "The processor that skipped."},
        "Checkpoint": _const("checkpoint", "Every part of every checkpoint."),
        "TreeHead": _const("tree-head", "Every signed tree head."),
        "TreeHeadWitnessed": _const("witness", "Every witness's co-signature."),
        "ChainAccessed": {
            **_household_key(),
            "description": "The household_id whose chain was read.",
        },
    }


def key_schema(message: str) -> dict[str, Any]:
    """The JSON Schema of `message`'s record key (household_id for every chain event)."""
    return copy.deepcopy(_keys().get(message) or _household_key())


# ---- Record headers ----------------------------------------------------------------------

SIGNATURE_HEADER_SCHEMA: dict[str, Any] = {
    "type": "string",
    "contentEncoding": "base64",
    "pattern": "^[A-Za-z0-9+/]{86}==$",
    "description": (
        "The chain writer's Ed25519 signature (RFC 8032, 64 bytes) over the 21 ASCII bytes "
        "`assist-chain-writer/1`, one zero byte, then the 32 bytes of the record's `hash` "
        "(its 64 hex characters decoded). On the wire the header value is the 64 raw "
        "signature bytes, neither base64 nor hex; this document and its examples show them "
        "in base64. Verify with the chain writer's public key (PEM, "
        "`<data dir>/chainwriter/chain-writer-signing.pub` of the deployment): a record "
        "whose signature does not verify was not appended by the chain writer. Present on every "
        "record of assist.chain and of assist.referrals.<department> that carries a chain "
        "event; absent on assist.events, where events are only proposed."
    ),
}


def event_type_header_schema(message: str) -> dict[str, Any]:
    return {
        "type": "string",
        "const": message,
        "description": (
            "The event's type, the same as the envelope's `event_type` (ASCII bytes), on every "
            "record of an envelope event, so that a consumer can pass over the types it does "
            "not follow without decoding them. Records written before this header existed "
            "lack it: read `event_type` from the body then. The body is what counts; the "
            "writer's signature covers the body, not the headers."
        ),
    }


def headers_schema(message: str) -> dict[str, Any] | None:
    """The Kafka record headers of `message`: its event type on every envelope event, and the
    chain writer's signature on the chain events it appends."""
    if message not in _EVENT_TYPES:
        return None
    properties = {EVENT_TYPE_HEADER: event_type_header_schema(message)}
    if message in ENVELOPE_EVENTS:
        properties[HEADER] = SIGNATURE_HEADER_SCHEMA
    return {"type": "object", "properties": properties}


_EVENT_TYPES = frozenset(t.value for t in EventType)


# ---- What a department's clients must set ------------------------------------------------

READ_COMMITTED_WHY = (
    "Every record on these topics is written in a Kafka transaction. Read with "
    "`isolation.level=read_committed`: a consumer left at Kafka's default read_uncommitted "
    "also sees the records of aborted transactions, which were never part of the system."
)


def consumer_settings(department: Department) -> dict[str, Any]:
    principal = department_principal(department)
    return {
        "group.id": principal,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "security.protocol": dict(PROTOCOL_OF_SERVER),
        "sasl.mechanism": SASL_MECHANISM,
        "sasl.username": principal,
    }


def producer_settings(department: Department) -> dict[str, Any]:
    return {
        "acks": "all",
        "enable.idempotence": True,
        "key": "referral_id",
        "security.protocol": dict(PROTOCOL_OF_SERVER),
        "sasl.mechanism": SASL_MECHANISM,
        "sasl.username": department_principal(department),
    }


def receive_binding(department: Department) -> dict[str, Any]:
    principal = department_principal(department)
    prefix = principal.replace(".", r"\.")
    return {
        "groupId": {
            "type": "string",
            "pattern": f"^{prefix}",
            "examples": [principal],
            "description": f"The department's consumer group, `{principal}`; the ACLs allow "
            f"only group ids that start with it (a second application: `{principal}.<app>`). "
            "With a topic namespace, the namespace comes first, as before every topic name.",
        },
        "clientId": {
            "type": "string",
            "examples": [f"{principal}.referrals"],
            "description": "Free; naming the department makes the broker's logs and quotas "
            "readable.",
        },
        "bindingVersion": KAFKA_BINDING,
    }


def send_binding(department: Department) -> dict[str, Any]:
    principal = department_principal(department)
    return {
        "clientId": {
            "type": "string",
            "examples": [f"{principal}.feedback"],
            "description": "Free; naming the department makes the broker's logs readable.",
        },
        "bindingVersion": KAFKA_BINDING,
    }
