"""The example messages of contracts/asyncapi.json are true: each validates against its
message's committed schemas, a referral is the very record the chain writer puts on a
department's topic, and the example consumer answers the way the examples show."""

from __future__ import annotations

import ast
import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from contracts.examples import department_consumer
from contracts.examples.messages import (
    HOUSEHOLD,
    REFERRAL,
    example_writer_key,
    feedback_id_of,
    message_examples,
)
from contracts.generate import HERE
from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.chain import ChainHead, event_hash
from events.types import Outcome
from services.chainwriter.writer import ChainWriter
from services.runtime.messages import Inbound
from services.runtime.peek import EVENT_TYPE_HEADER
from services.runtime.writer_signature import HEADER, signed_by_writer

DOCUMENT = json.loads((HERE / "asyncapi.json").read_text(encoding="utf-8"))
MESSAGES = DOCUMENT["components"]["messages"]
EXAMPLES = [
    (name, index, example)
    for name, message in MESSAGES.items()
    for index, example in enumerate(message.get("examples", []))
]


def _payload_validator(message: str) -> Draft202012Validator:
    schema = json.loads((HERE / MESSAGES[message]["payload"]["$ref"]).read_text())
    return Draft202012Validator(
        schema, registry=Registry().with_resource("", Resource.from_contents(schema))
    )


def _errors(validator: Draft202012Validator, instance: object) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.mark.parametrize(
    "message",
    [
        "ReferralIssued",
        "ReferralWithdrawn",
        "ReferralOverdue",
        "ReferralAmended",
        "FeedbackRefused",
    ],
)
def test_every_message_on_a_department_topic_has_an_example(message: str) -> None:
    assert message in DOCUMENT["channels"]["assist_referrals_medical_security"]["messages"]
    assert MESSAGES[message]["examples"], message


def test_every_message_a_department_reads_or_writes_has_an_example() -> None:
    for channel in ("assist_referrals_medical_security", "assist_feedback"):
        for name in DOCUMENT["channels"][channel]["messages"]:
            assert MESSAGES[name].get("examples"), f"{name} on {channel} has no example"


@pytest.mark.parametrize(
    "name, index, example", EXAMPLES, ids=[f"{n}-{e['name']}" for n, _, e in EXAMPLES]
)
def test_an_example_payload_validates_against_its_message_schema(
    name: str, index: int, example: dict[str, Any]
) -> None:
    assert _errors(_payload_validator(name), example["payload"]) == []


@pytest.mark.parametrize(
    "name, index, example", EXAMPLES, ids=[f"{n}-{e['name']}" for n, _, e in EXAMPLES]
)
def test_an_examples_headers_and_key_validate_against_the_message(
    name: str, index: int, example: dict[str, Any]
) -> None:
    message = MESSAGES[name]
    if "headers" in message:
        assert example.get("headers"), "a signed chain event's example shows its signature"
        assert _errors(Draft202012Validator(message["headers"]), example["headers"]) == []
    else:
        assert "headers" not in example
    key = message_examples()[name][index].key
    assert f"`{key}`" in example["summary"]
    key_schema = message["bindings"]["kafka"]["key"]
    assert _errors(Draft202012Validator(key_schema), key) == []


def test_the_payload_validator_is_not_vacuous() -> None:
    example = MESSAGES["ReferralIssued"]["examples"][0]["payload"]
    broken = {**example, "payload": {k: v for k, v in example["payload"].items() if k != "due_at"}}
    assert any("due_at" in e for e in _errors(_payload_validator("ReferralIssued"), broken))
    refused = dict(MESSAGES["FeedbackRefused"]["examples"][0]["payload"], status=200)
    assert _errors(_payload_validator("FeedbackRefused"), refused)


SIGNED = [(n, e) for n, _, e in EXAMPLES if "headers" in e]


@pytest.mark.parametrize("name, example", SIGNED, ids=[n for n, _ in SIGNED])
def test_a_referral_example_is_signed_as_the_document_says(
    name: str, example: dict[str, Any]
) -> None:
    payload = example["payload"]
    assert payload["hash"] == event_hash(payload)
    signature = base64.b64decode(example["headers"][HEADER], validate=True)
    assert len(signature) == 64
    public = example_writer_key().public_key()
    # What the header's description says is signed: 21 ASCII bytes, a zero byte, the hash.
    public.verify(signature, b"assist-chain-writer/1" + b"\x00" + bytes.fromhex(payload["hash"]))
    assert signed_by_writer(public, payload["hash"], [(HEADER, signature)])


@pytest.mark.parametrize("name, example", SIGNED, ids=[n for n, _ in SIGNED])
def test_a_referral_example_is_what_the_chain_writer_puts_on_the_department_topic(
    name: str, example: dict[str, Any]
) -> None:
    chained = example["payload"]
    proposed = {**chained, "sequence": None, "prev_hash": None, "hash": None}
    topics = TopicNames()
    writer = ChainWriter(topics, example_writer_key())
    writer.heads[HOUSEHOLD] = ChainHead(chained["sequence"] - 1, chained["prev_hash"])
    message = Inbound(topics.events, 0, 7, HOUSEHOLD.encode(), canonical_json(proposed))
    department = [
        out
        for out in writer.handle(message, replaying=False)
        if out.topic == topics.referrals(chained["payload"]["department"])
    ]
    assert len(department) == 1
    assert department[0].value == canonical_json(chained)
    assert department[0].key == HOUSEHOLD.encode()
    assert department[0].headers == (
        (EVENT_TYPE_HEADER, example["headers"][EVENT_TYPE_HEADER].encode()),
        (HEADER, base64.b64decode(example["headers"][HEADER])),
    )


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append((topic, value, key))


async def test_the_example_consumer_answers_a_referral_as_the_examples_show(
    capsys: pytest.CaptureFixture[str],
) -> None:
    producer = _Producer()
    referral = MESSAGES["ReferralIssued"]["examples"][0]["payload"]
    assert await department_consumer.handle(referral, producer, "ns-") == 1
    [(topic, value, key)] = producer.sent
    assert (topic, key) == ("ns-assist.feedback", REFERRAL.encode())
    answer = json.loads(value)
    assert _errors(_payload_validator("FeedbackSubmitted"), answer) == []
    assert answer["feedback_id"] == str(feedback_id_of(REFERRAL, Outcome.ACCEPTED))
    shown = MESSAGES["FeedbackSubmitted"]["examples"][0]["payload"]
    assert answer["feedback_id"] == shown["feedback_id"]
    assert capsys.readouterr().out == f"answered {REFERRAL} ACCEPTED\n"


async def test_the_example_consumer_prints_a_refusal_and_leaves_other_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    producer = _Producer()
    refusal = MESSAGES["FeedbackRefused"]["examples"][1]["payload"]
    assert await department_consumer.handle(refusal, producer, "") == 0
    for other in ("ReferralAmended", "ReferralOverdue", "ReferralWithdrawn"):
        assert (
            await department_consumer.handle(
                MESSAGES[other]["examples"][0]["payload"], producer, ""
            )
            == 0
        )
    assert producer.sent == []
    assert capsys.readouterr().out == (f"refused {REFERRAL} 422 {refusal['reason']}\n")


def test_the_example_consumer_needs_only_aiokafka_and_the_standard_library() -> None:
    tree = ast.parse(Path(department_consumer.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    roots = {name.split(".")[0] for name in imported}
    assert roots - set(sys.stdlib_module_names) - {"__future__"} == {"aiokafka"}
