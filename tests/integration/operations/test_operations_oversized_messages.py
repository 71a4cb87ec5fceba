"""A ~900 KB message on each input of the chain writer, identification and feedback (issue 13):
each becomes a bounded dead letter (digest, size, source, first bytes), no processor stops, a
normal household, signal and answer still go through afterwards, and the dead letters are
readable; a re-drive of a truncated one reads the original back from its source offset."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from operations_running import Running, chain_writer, eventually
from support.deadletter_cli import cli
from support.factories import application_event
from support.kafka_io import produce, read_all, read_documents
from support.loop import HANGZHOU, new_person
from support.processors import feedback_processor

from contracts.topics import TopicNames
from events.envelope import new_event
from events.monitoring import SignalReceived
from events.referral import ReferralIssued
from events.types import Department, Program, SignalKind
from services.identification.handler import Identification
from services.operations.deadletters import describe
from services.operations.redrive import load_dead_letters, original_of, redrive
from services.rules.standards import PolicyBook
from services.runtime.limits import DEADLETTER_MAX_BYTES, DEADLETTER_PREFIX_BYTES
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings

SIZE = 900_000


def oversized(document: dict[str, Any]) -> bytes:
    """`document` with a field no model has, padded to SIZE bytes: it fails validation."""
    padded = {**document, "padding": ""}
    room = SIZE - len(json.dumps(padded).encode())
    return json.dumps({**document, "padding": "x" * room}).encode()


def referral_issued(referral_id: str) -> bytes:
    payload = ReferralIssued(
        referral_id=referral_id,
        program=Program.HOUSING_ASSISTANCE,
        department=Department.HOUSING,
        due_at=datetime.now(UTC) + timedelta(days=30),
        region_code=HANGZHOU,
        tier="DIBAO",
    )
    now = datetime.now(UTC)
    return new_event(payload, household_id="HH-BIG-2", producer="test", occurred_at=now).to_bytes()


def warning_signal(person: str) -> bytes:
    signal = SignalReceived(
        kind=SignalKind.MAJOR_MEDICAL_EXPENSE,
        person_id=person,
        region_code=HANGZHOU,
        source_department="medical_security",
        amount=Decimal(50000),
    )
    return new_event(
        signal, household_id=None, producer="intake", occurred_at=datetime.now(UTC)
    ).to_bytes()


def processors(topics: TopicNames, kafka: KafkaSettings) -> list[Processor]:
    ns, policy = topics.namespace, PolicyBook.load_default()
    identification = Processor(
        ProcessorConfig(
            f"{ns}identification",
            (topics.chain, topics.monitoring, topics.policy),
            topics.deadletter,
            lag_check_seconds=0.3,
        ),
        lambda: Identification(topics, policy),
        kafka,
    )
    feedback = feedback_processor(topics, kafka)
    return [chain_writer(topics, kafka), identification, feedback]


async def test_a_900_kb_message_on_each_input_is_dead_lettered_and_the_loop_goes_on(
    kafka: KafkaSettings, topics: TopicNames, serve_processors: Any
) -> None:
    running: Running = serve_processors("loop", *processors(topics, kafka))
    await eventually(lambda: _healthy(running), "the three processors ready")

    application = json.loads(application_event("HH-BIG-1").to_bytes())
    huge = {
        topics.events: oversized(application),
        topics.monitoring: oversized(json.loads(warning_signal(new_person()))),
        topics.feedback: oversized({"referral_id": "R-BIG-1", "outcome": "ACCEPTED"}),
    }
    for topic, value in huge.items():
        assert len(value) == SIZE
        await produce(kafka, topic, [(b"HH-BIG", value)])

    # Afterwards, ordinary traffic on every input still goes through.
    person = new_person()
    await produce(kafka, topics.events, [(b"HH-BIG-1", application_event("HH-BIG-1").to_bytes())])
    await produce(kafka, topics.events, [(b"HH-BIG-2", referral_issued("R-BIG-2"))])
    await produce(kafka, topics.monitoring, [(person.encode(), warning_signal(person))])

    async def chained(*types: str) -> bool:
        found = {d["event_type"] for d in await read_documents(kafka, topics.chain)}
        return set(types) <= found

    await eventually(
        lambda: chained("HouseholdIdentified", "RiskWarningRaised", "ReferralIssued"),
        "the application identified, the signal warned, the referral chained",
    )
    answer = {
        "referral_id": "R-BIG-2",
        "department": "housing",
        "outcome": "ACCEPTED",
        "feedback_id": str(uuid.uuid4()),
    }
    await produce(kafka, topics.feedback, [(b"R-BIG-2", json.dumps(answer).encode())])
    await eventually(lambda: chained("ReferralOutcomeReported"), "the answer chained")

    status, report = await running.health()
    assert status == 200, report
    for processor in report["processors"]:  # type: ignore[union-attr]
        assert processor["state"] == "running" and processor["restarts"] == 0, processor
        assert processor["stuck"] is None

    # The three dead letters: bounded, truncated, with digest, size, source and first bytes.
    records = await read_all(kafka, topics.deadletter)
    assert len(records) == 3
    assert all(len(r.value) <= DEADLETTER_MAX_BYTES for r in records)
    letters = await load_dead_letters(kafka, topics)
    assert letters.unreadable == 0
    by_topic = {e.letter.source.topic: e for e in letters.recent()}
    assert set(by_topic) == set(huge)
    ns = topics.namespace
    services = {topics.events: "chainwriter", topics.monitoring: "identification"}
    for topic, entry in by_topic.items():
        original = huge[topic]
        document = describe(entry)
        assert entry.letter.service == ns + services.get(topic, "feedback")
        assert document["truncated"] is True and document["value_bytes"] == SIZE
        assert document["value_sha256"] == hashlib.sha256(original).hexdigest()
        assert document["quoted_bytes"] == DEADLETTER_PREFIX_BYTES
        assert document["key"] == "HH-BIG"
        assert original.decode().startswith(document["value_text"])
        # show --raw and replay read the original back from where it still is
        key, value = await original_of(kafka, entry)
        assert (key, value) == (b"HH-BIG", original)

    # `assist deadletter show` says it is truncated; --raw gives the whole original all the same.
    entry = by_topic[topics.events]
    shown = await asyncio.to_thread(cli, kafka, topics, "show", entry.dead_letter_id[:8])
    assert shown.returncode == 0, shown.stderr
    assert "truncated" in shown.stdout and f"{topics.events}/" in shown.stdout
    raw = await asyncio.to_thread(cli, kafka, topics, "show", entry.dead_letter_id, "--raw")
    assert raw.returncode == 0 and raw.stdout.encode() == huge[topics.events]

    # A re-drive of a truncated one publishes the original again, and it is dead-lettered again.
    record = await redrive(kafka, topics, entry.dead_letter_id)
    assert record.value_sha256 == hashlib.sha256(huge[topics.events]).hexdigest()
    assert not record.fixed
    await eventually(
        lambda: _count(kafka, topics.deadletter, 4), "the re-driven original dead-lettered again"
    )
    status, _ = await running.health()
    assert status == 200


async def _count(kafka: KafkaSettings, topic: str, count: int) -> bool:
    return len(await read_all(kafka, topic)) >= count


async def _healthy(running: Running) -> bool:
    status, _ = await running.health()
    return status == 200
