"""A message that stops a processor, on a real broker: the processor reports itself stuck at it
(/healthz: "stuck at topic/partition@offset: reason"), an operator orders it skipped with
`assist deadletter skip`, the processor dead-letters it, records the skip and goes on; the order
and the skip are recorded, a replay after a restart never folds the message, and orders for a
message already handled or already skipped are refused."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from operations_running import Running, eventually
from support.deadletter_cli import assist, cli
from support.kafka_io import produce, read_all

from contracts.topics import TopicNames
from events.feedback import DeadLetter
from services.operations.skips import SkipRefused, order_skip
from services.runtime.messages import Inbound, Outbound
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings
from services.runtime.skips import parse_skip_record


class Doubling:
    """Echoes every message to assist.checkpoints; one starting with b"double" twice over, which
    for a large one is more than any record may hold: the run fails, every time."""

    def __init__(self, topics: TopicNames) -> None:
        self.out = topics.checkpoints
        self.seen: list[int] = []

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        self.seen.append(message.offset)
        value = message.value or b""
        return [Outbound(self.out, message.key, value * (2 if value.startswith(b"double") else 1))]

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []


class QuickRestarts(Processor):
    async def _restart_after(self, error: BaseException, backoff: float) -> None:
        await super()._restart_after(error, backoff=0.2)


def doubling(topics: TopicNames, kafka: KafkaSettings) -> Processor:
    config = ProcessorConfig(
        f"{topics.namespace}doubling", (topics.events,), topics.deadletter, lag_check_seconds=0.3
    )
    return QuickRestarts(config, lambda: Doubling(topics), kafka)


async def test_an_operator_skips_the_message_a_processor_is_stuck_at(
    kafka: KafkaSettings, topics: TopicNames, serve_processors: Any
) -> None:
    first = doubling(topics, kafka)
    running: Running = serve_processors("doubling", first)
    poison = b"double" + b"x" * 600_000
    await produce(kafka, topics.events, [(b"K", b"ok-0")])
    await eventually(lambda: _count(kafka, topics.checkpoints, 1), "the first message through")
    await produce(kafka, topics.events, [(b"K", poison), (b"K", b"ok-2")])

    async def stuck() -> dict[str, Any] | None:
        status, report = await running.health()
        [row] = report["processors"]  # type: ignore[index]
        return row if status == 503 and row["state"] == "stuck" else None

    row = await eventually(stuck, "the processor stuck at the poison message")
    assert isinstance(row, dict)
    at = row["stuck_at"]
    assert at["topic"] == topics.events and at["failures"] >= 3
    where = f"{topics.events}/{at['partition']}@{at['offset']}"
    assert row["stuck"].startswith(f"stuck at {where}: OutputTooLarge: ")
    assert "over the limit" in row["stuck"]
    # Nothing of the batch it is in is committed (a batch is one transaction).
    assert [r.value for r in await read_all(kafka, topics.checkpoints)] == [b"ok-0"]

    position = ("--partition", str(at["partition"]), "--offset", str(at["offset"]))
    ordered = await assist(
        kafka,
        topics,
        "skip",
        "--service",
        "doubling",  # the namespace is added, as for topics
        "--topic",
        "assist.events",
        *position,
        "--reason",
        "doubles past the record limit (ticket 7)",
        "--json",
    )
    assert ordered["processor"] == f"{topics.namespace}doubling" and ordered["new"] is True
    assert ordered["committed"] == at["offset"]  # the very message it is stuck at
    assert ordered["operator"] and ordered["reason"] == "doubles past the record limit (ticket 7)"

    async def healthy() -> bool:
        status, _ = await running.health()
        return status == 200

    await eventually(healthy, "the processor past the skipped message")
    assert [r.value for r in await read_all(kafka, topics.checkpoints)] == [b"ok-0", b"ok-2"]
    [letter_record] = await read_all(kafka, topics.deadletter)
    letter = DeadLetter.model_validate_json(letter_record.value)
    assert (letter.source.topic, letter.source.offset) == (topics.events, at["offset"])
    assert letter.reason.startswith(f"skipped by {ordered['operator']} at ")
    assert letter.reason.endswith("doubles past the record limit (ticket 7)")
    assert letter.truncated and letter.value_bytes == len(poison)
    skips = [parse_skip_record(r.value) for r in await read_all(kafka, topics.deadletter_skips)]
    assert [type(s).__name__ for s in skips] == ["SkipOrdered", "MessageSkipped"]
    assert skips[1].dead_letter_id == letter.dead_letter_id  # type: ignore[union-attr]

    [listed] = await assist(kafka, topics, "skips", "--json")
    assert listed["skipped"]["offset"] == at["offset"]
    table = await assist(kafka, topics, "skips")
    assert where in table and "ticket 7" in table

    again = await asyncio.to_thread(
        cli,
        kafka,
        topics,
        "skip",
        "--service",
        "doubling",
        "--topic",
        topics.events,
        *position,
        "--reason",
        "again",
    )
    assert again.returncode == 1 and "already skipped" in again.stderr
    for offset, refusal in ((at["offset"] - 1, "already handled"), (999, "no message at")):
        with pytest.raises(SkipRefused, match=refusal):
            await order_skip(kafka, topics, "doubling", topics.events, at["partition"], offset, "x")

    # A restart replays the input: the skipped message is not folded, nothing is written twice.
    first.stop()
    await eventually(lambda: _stopped(first), "the first instance stopped")
    second = doubling(topics, kafka)
    rerun: Running = serve_processors("doubling", second)
    await eventually(lambda: _ready(rerun), "the second instance caught up")
    assert isinstance(second.handler, Doubling)
    assert second.handler.seen == [at["offset"] - 1, at["offset"] + 1]
    assert [r.value for r in await read_all(kafka, topics.checkpoints)] == [b"ok-0", b"ok-2"]
    assert len(await read_all(kafka, topics.deadletter)) == 1
    assert len(await read_all(kafka, topics.deadletter_skips)) == 2


async def _count(kafka: KafkaSettings, topic: str, count: int) -> bool:
    return len(await read_all(kafka, topic)) >= count


async def _stopped(processor: Processor) -> bool:
    return not processor.status.running


async def _ready(running: Running) -> bool:
    status, _ = await running.health()
    return status == 200
