"""The durable publisher with a fake transactional producer: group commit, and the truth of a 503.

A request is told "not recorded" only when its transaction can never commit; "not confirmed"
when the commit was sent and its outcome is not known; 202 (no exception) once committed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from events.envelope import new_event
from events.schedule import HouseholdClosed
from events.types import ClosureReason
from services.intake import durable
from services.intake.durable import DurablePublisher, NotConfirmed, NotRecorded
from services.runtime.peek import EVENT_TYPE_HEADER
from services.runtime.settings import KafkaSettings

SECONDS = 0.5


@dataclass
class Broker:
    """What the fake producers see: whether the broker answers, and what was committed."""

    reachable: bool = True
    acks: bool = True  # the broker confirms sends
    commits: bool = True  # the broker confirms commits
    hold_commit: asyncio.Event | None = None  # a commit waits for this first
    producers: list[FakeProducer] = field(default_factory=list)
    committed: list[list[bytes]] = field(default_factory=list)
    aborted_by_fence: list[list[bytes]] = field(default_factory=list)
    headers: list[list[tuple[str, bytes]] | None] = field(default_factory=list)  # of each send


class FakeProducer:
    def __init__(self, broker: Broker, transactional_id: str) -> None:
        self.broker = broker
        self.transactional_id = transactional_id
        self.open: list[bytes] | None = None
        self.stopped = False
        self.commit_sent = False

    async def start(self) -> None:
        if not self.broker.reachable:
            raise KafkaConnectionError("no broker")
        # The init of a new producer under the same transactional id aborts what the one
        # before it left open.
        for earlier in self.broker.producers:
            same = earlier.transactional_id == self.transactional_id
            if same and earlier.open is not None and not earlier.commit_sent:
                self.broker.aborted_by_fence.append(earlier.open)
                earlier.open = None
        self.broker.producers.append(self)

    async def stop(self) -> None:
        self.stopped = True

    async def begin_transaction(self) -> None:
        self.open = []

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        assert self.open is not None
        self.open.append(value)
        self.broker.headers.append(headers)
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.broker.acks:
            sent.set_result(None)
        return sent

    async def commit_transaction(self) -> None:
        self.commit_sent = True
        if self.broker.hold_commit is not None:
            await self.broker.hold_commit.wait()
        if not self.broker.commits:
            await asyncio.Event().wait()  # never answered
        assert self.open is not None
        self.broker.committed.append(self.open)
        self.open = None


def _ids(broker: Broker) -> list[str]:
    return [p.transactional_id for p in broker.producers]


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Broker:
    broker = Broker()
    monkeypatch.setattr(
        durable,
        "make_producer",
        lambda _kafka, transactional_id: FakeProducer(broker, transactional_id),
    )
    return broker


def publisher() -> DurablePublisher:
    return DurablePublisher(KafkaSettings(), "t.intake.publisher.0", "intake", seconds=SECONDS)


async def publish(publisher: DurablePublisher, value: bytes) -> str:
    try:
        await publisher.publish_raw("t.assist.events", value, b"HH-1", "ApplicationReceived")
    except NotRecorded:
        return "not recorded"
    except NotConfirmed:
        return "not confirmed"
    return "committed"


async def test_requests_waiting_while_a_transaction_commits_share_the_next_one(
    broker: Broker,
) -> None:
    broker.hold_commit = asyncio.Event()
    running = publisher()
    await running.start()
    first = asyncio.create_task(publish(running, b"0"))
    await asyncio.sleep(0.01)  # its transaction is committing now
    rest = [asyncio.create_task(publish(running, str(n).encode())) for n in range(1, 50)]
    await asyncio.sleep(0.01)
    broker.hold_commit.set()
    answers = await asyncio.gather(first, *rest)
    await running.stop()
    assert set(answers) == {"committed"}
    # Two transactions for 50 requests, each in the order it came.
    assert broker.committed == [[b"0"], [str(n).encode() for n in range(1, 50)]]
    assert running.transactions == 2


async def test_sends_the_broker_never_confirms_are_not_recorded_and_never_committed(
    broker: Broker,
) -> None:
    running = publisher()
    await running.start()
    broker.acks = False
    started = asyncio.get_running_loop().time()
    answers = await asyncio.gather(*(publish(running, b"%d" % n) for n in range(3)))
    waited = asyncio.get_running_loop().time() - started
    assert answers == ["not recorded"] * 3 and waited <= SECONDS + 0.1
    # The producer was replaced at once: the new one's init aborted the open transaction.
    await asyncio.sleep(0.05)
    first = broker.producers[0]
    assert first.stopped and _ids(broker).count(first.transactional_id) == 2
    assert broker.aborted_by_fence == [[b"0", b"1", b"2"]] and broker.committed == []
    # The broker answers again: the same request goes through, once.
    broker.acks = True
    assert await publish(running, b"0") == "committed"
    await running.stop()
    assert broker.committed == [[b"0"]]


async def test_a_commit_sent_and_not_confirmed_is_said_to_be_unknown(broker: Broker) -> None:
    running = publisher()
    await running.start()
    broker.commits = False
    assert await publish(running, b"x") == "not confirmed"
    broker.commits = True
    await asyncio.sleep(0.05)
    first = broker.producers[0]  # replaced: the new one's init settles the commit either way
    assert first.stopped and _ids(broker).count(first.transactional_id) == 2
    assert await publish(running, b"y") == "committed"
    await running.stop()


async def test_without_a_broker_a_request_is_not_recorded_by_its_deadline(broker: Broker) -> None:
    running = publisher()
    await running.start()
    broker.acks = False
    assert await publish(running, b"lost") == "not recorded"
    broker.reachable = False  # the replacement cannot connect: requests wait in line
    started = asyncio.get_running_loop().time()
    assert await publish(running, b"queued") == "not recorded"
    assert asyncio.get_running_loop().time() - started == pytest.approx(SECONDS, abs=0.1)
    broker.reachable, broker.acks = True, True
    assert await publish(running, b"queued") == "committed"
    await running.stop()
    assert broker.committed == [[b"queued"]]


async def test_stopping_answers_every_waiting_request(broker: Broker) -> None:
    broker.reachable = False
    running = publisher()
    start = asyncio.create_task(running.start())
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(publish(running, b"w"))
    await asyncio.sleep(0.05)
    await running.stop()
    assert await waiting == "not recorded"
    start.cancel()


async def test_an_envelope_is_sent_with_its_event_type_header(broker: Broker) -> None:
    running = publisher()
    await running.start()
    event = new_event(
        HouseholdClosed(reason=ClosureReason.LAST_MEMBER_MOVED, on=date(2026, 3, 2)),
        household_id="HH-1",
        producer="intake",
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    await running.publish("t.assist.events", event)
    await publish(running, b"raw")  # a value of its own: no type to name
    await running.stop()
    assert broker.headers == [[(EVENT_TYPE_HEADER, b"HouseholdClosed")], None]
