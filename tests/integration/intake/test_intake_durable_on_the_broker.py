"""Intake on the real broker: 202 once committed, 503 within 5 s saying nothing was recorded when
the broker cannot confirm, and after it returns the same request is recorded exactly once.

A paused broker (SIGSTOP) is the case a plain producer gets wrong: what it sent sits in the
broker's socket and lands when the broker resumes, after the client has given up. Intake's
transaction is aborted instead, so a read_committed reader never sees it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.factories import application_body, member, person
from support.kafka_io import read_all, wait_for_records
from support.logins import logins_of
from support.processes import ServiceProcess

from contracts.topics import TopicNames
from deploy.kafka.kafkactl import Broker, start_broker, stop_broker
from deploy.local.tokens import ensure_tokens, token_of
from services.intake.durable import DurablePublisher, NotRecorded
from services.runtime.peek import EVENT_TYPE_HEADER
from services.runtime.pseudonym import Pseudonyms, ensure_key_file, read_key_file
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

BUDGET = 5.0  # ASSIST_INTAKE_DURABLE_SECONDS, the default


@dataclass
class Intake:
    service: ServiceProcess
    tokens: Path
    broker_dir: Path
    broker: Broker
    topics: TopicNames

    def post(
        self, path: str, body: dict[str, Any], role: str, key: str
    ) -> tuple[httpx.Response, float]:
        """The answer, and how long it took."""
        started = time.monotonic()
        reply = httpx.post(
            f"{self.service.url}{path}",
            json=body,
            headers={
                "Authorization": f"Bearer {token_of(self.tokens, role)}",
                "Idempotency-Key": key,
            },
            timeout=30,
        )
        return reply, time.monotonic() - started


@pytest.fixture
async def intake(own_broker: tuple[Path, Broker], tmp_path: Path) -> AsyncIterator[Intake]:
    data_dir, broker = own_broker
    topics = TopicNames(f"d{uuid.uuid4().hex[:8]}.")
    await ensure_topics(
        logins_of(broker.bootstrap).admin, TopicSettings(namespace=topics.namespace, partitions=2)
    )
    tokens = ensure_tokens(tmp_path / "tokens.json")
    service = ServiceProcess(
        "intake",
        {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "ASSIST_TOPIC_NAMESPACE": topics.namespace,
            "ASSIST_TOKENS_FILE": str(tokens),
            "ASSIST_PSEUDONYM_KEY_FILE": str(ensure_key_file(tmp_path / "pseudonym.key")),
            "ASSIST_DATA_DIR": str(tmp_path / "data"),
            "ASSIST_CLOCK": "wall",
        },
        tmp_path,
    ).start()
    try:
        await asyncio.to_thread(service.wait_healthy, 120)
        yield Intake(service, tokens, data_dir, broker, topics)
    except AssertionError as failure:
        log = service.log_tail(60, own_only=True)
        raise AssertionError(f"{failure}\nintake log:\n{log}") from None
    finally:
        service.stop()


def _refused_in_time(reply: httpx.Response, waited: float) -> None:
    assert reply.status_code == 503, reply.text
    assert waited < BUDGET + 0.5, f"answered after {waited:.1f} s"
    assert int(reply.headers["Retry-After"]) >= 1
    answer = reply.json()
    assert answer["error"] == "not recorded" and answer["recorded"] is False, answer
    assert "nothing was recorded" in answer["detail"]


async def _until_accepted(
    intake: Intake, path: str, body: dict[str, Any], role: str, key: str
) -> str:
    """Send the same request again, as a client told to retry would, until it is accepted;
    its event id."""
    deadline = time.monotonic() + 180
    while True:
        reply, _ = await asyncio.to_thread(intake.post, path, body, role, key)
        if reply.status_code == 202:
            return str(reply.json()["event_id"])
        assert reply.status_code == 503, reply.text
        assert time.monotonic() < deadline, f"still {reply.status_code}: {reply.text}"
        await asyncio.sleep(0.5)


def _event_id(value: bytes) -> str:
    return str(json.loads(value)["event_id"])


@pytest.mark.timeout(600)
async def test_broker_paused_or_down_503_in_time_then_the_retry_is_recorded_once(
    intake: Intake, tmp_path: Path
) -> None:
    kafka = logins_of(intake.broker.bootstrap).admin
    first = application_body([member(1)])
    accepted = {await _until_accepted(intake, "/v1/applications", first, "intake", "k-1")}

    # Paused: connections stay open, and what was sent waits in the broker's sockets.
    paused = application_body([member(2)])
    signal_body = {
        "kind": "income_change",
        "person_id": person(3),
        "region_code": "330100",
        "occurred_at": "2026-06-01T09:00:00+08:00",
        "source_department": "human_resources",
        "monthly_income": 4200,
    }
    hr = "department:human_resources"
    os.kill(intake.broker.pid, signal.SIGSTOP)
    try:
        _refused_in_time(
            *await asyncio.to_thread(intake.post, "/v1/applications", paused, "intake", "k-2")
        )
        _refused_in_time(
            *await asyncio.to_thread(intake.post, "/v1/signals", signal_body, hr, "k-s")
        )
    finally:
        os.kill(intake.broker.pid, signal.SIGCONT)
    accepted.add(await _until_accepted(intake, "/v1/applications", paused, "intake", "k-2"))
    signalled = await _until_accepted(intake, "/v1/signals", signal_body, hr, "k-s")

    # Down: nothing answers at all.
    stop_broker(intake.broker_dir)
    down = application_body([member(4)])
    _refused_in_time(
        *await asyncio.to_thread(intake.post, "/v1/applications", down, "intake", "k-4")
    )
    broker = intake.broker
    start_broker(
        intake.broker_dir, port=broker.port, controller_port=broker.controller_port, timeout=150
    )
    accepted.add(await _until_accepted(intake, "/v1/applications", down, "intake", "k-4"))

    # Exactly once each: what was refused was never seen, what was retried is there once.
    await wait_for_records(kafka, intake.topics.events, len(accepted), timeout=60)
    await asyncio.sleep(1.0)  # and nothing more arrives late: a repeat would be counted twice
    events = await read_all(kafka, intake.topics.events, timeout=30)
    counted = Counter(_event_id(r.value) for r in events)
    assert counted == Counter(dict.fromkeys(accepted, 1)), counted
    assert all((EVENT_TYPE_HEADER, b"ApplicationReceived") in r.headers for r in events)
    monitoring = await wait_for_records(kafka, intake.topics.monitoring, 1, timeout=60)
    assert [_event_id(r.value) for r in monitoring] == [signalled]
    # Keyed by the person's pseudonym, never the resident id.
    secret = read_key_file(tmp_path / "pseudonym.key")
    assert [r.key for r in monitoring] == [Pseudonyms(secret).key(signal_body["person_id"])]


async def test_concurrent_requests_share_transactions_and_keep_their_order(
    kafka: KafkaSettings,
) -> None:
    namespace = f"g{uuid.uuid4().hex[:8]}."
    await ensure_topics(kafka, TopicSettings(namespace=namespace, partitions=3))
    topics = TopicNames(namespace)
    publisher = DurablePublisher(kafka, f"{namespace}intake.publisher.0", "intake")
    await publisher.start()
    try:
        households = [f"HH-{n}" for n in range(10)]

        async def client(household: str) -> None:
            for step in range(30):
                value = f'{{"household_id": "{household}", "step": {step}}}'.encode()
                await publisher.publish_raw(topics.events, value, household.encode(), "test")

        await asyncio.gather(*(client(h) for h in households))
        transactions = publisher.transactions
    finally:
        await publisher.stop()
    records = await wait_for_records(kafka, topics.events, 300, timeout=60)
    assert len(records) == 300
    # Group commit: far fewer transactions than requests, and each household's in order.
    assert transactions < 300 / 3, transactions
    for household in households:
        steps = [json.loads(r.value)["step"] for r in records if r.key == household.encode()]
        assert steps == list(range(30))


class GivingUp(DurablePublisher):
    """A publisher whose next batch is given up after the broker acknowledged its sends, as
    when a request's own deadline passes just then: its events are in the log, uncommitted."""

    give_up = True

    def _may_commit(self, batch: Any) -> bool:
        if self.give_up:
            self.give_up = False
            return False
        return super()._may_commit(batch)


async def test_events_in_the_log_of_a_batch_given_up_are_never_seen(kafka: KafkaSettings) -> None:
    namespace = f"a{uuid.uuid4().hex[:8]}."
    await ensure_topics(kafka, TopicSettings(namespace=namespace, partitions=1))
    topics = TopicNames(namespace)
    # A generous budget: this is about what is seen, not how soon (the broker may be busy).
    publisher = GivingUp(kafka, f"{namespace}intake.publisher.0", "intake", seconds=20)
    await publisher.start()
    value = b'{"event_id": "e-1"}'
    refused = 0
    try:
        while True:  # the same request again until it is recorded, as a client would
            try:
                await publisher.publish_raw(topics.events, value, b"HH-1", "test")
                break
            except NotRecorded:
                refused += 1
                assert refused < 5
    finally:
        await publisher.stop()
    assert not publisher.give_up and refused >= 1  # a batch was given up after it was sent
    # The given-up attempt reached the log; only the committed one is ever read.
    assert [
        r.value for r in await read_all(kafka, topics.events, timeout=30, committed=False)
    ].count(value) >= 2
    assert [r.value for r in await wait_for_records(kafka, topics.events, 1)] == [value]
