"""A scaled-out processor commits what each task caused in that task's own transaction, and
speaks for a broadcast input only when it holds task 0."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import ProducerFenced
from runtime_fakes import Echo, FakeConsumer, FakeProducer

from services.runtime.messages import Outbound
from services.runtime.partition_tasks import TaskAssignment
from services.runtime.processor import Processor, ProcessorConfig, ScaleOut
from services.runtime.settings import KafkaSettings

CHAIN, POLICY = "t.assist.chain", "t.assist.policy"


class Consumer(FakeConsumer):
    """One record at offset 5 in each partition given."""

    def __init__(self, partitions: list[TopicPartition]) -> None:
        self.partitions = partitions

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[Any]]:
        batch = {
            tp: [
                SimpleNamespace(
                    offset=5,
                    key=b"k",
                    value=f"{tp.topic}/{tp.partition}".encode(),
                    timestamp=0,
                    headers=(),
                )
            ]
            for tp in self.partitions
        }
        self.partitions = []
        return batch


def scaled(mine: set[int], tasks: int = 3) -> Processor:
    config = ProcessorConfig(
        "t.referral",
        (CHAIN, POLICY),
        "t.assist.deadletter",
        scale_out=ScaleOut("a", broadcast=(POLICY,)),
    )
    processor = Processor(config, Echo, KafkaSettings())
    processor._assignment = TaskAssignment(tasks, frozenset(mine))
    return processor


async def test_each_task_commits_its_own_outputs_and_offsets() -> None:
    processor = scaled({0, 2})
    inputs = [TopicPartition(CHAIN, p) for p in (0, 2, 3, 5)] + [TopicPartition(POLICY, 0)]
    producers = {0: FakeProducer(), 2: FakeProducer()}
    await processor._step(Consumer(inputs), producers, Echo(), {tp: 0 for tp in inputs})  # type: ignore[arg-type]

    # Partitions 0 and 3 are task 0 (and the broadcast policy topic, since it holds task 0).
    assert sorted(producers[0].sent) == [
        ("out", b"t.assist.chain/0"),
        ("out", b"t.assist.chain/3"),
        ("out", b"t.assist.policy/0"),
    ]
    assert producers[0].offsets == {
        TopicPartition(CHAIN, 0): 6,
        TopicPartition(CHAIN, 3): 6,
        TopicPartition(POLICY, 0): 6,
    }
    assert sorted(producers[2].sent) == [("out", b"t.assist.chain/2"), ("out", b"t.assist.chain/5")]
    assert producers[2].offsets == {TopicPartition(CHAIN, 2): 6, TopicPartition(CHAIN, 5): 6}
    assert producers[0].committed == producers[2].committed == 1


async def test_without_task_0_a_broadcast_input_is_folded_but_neither_answered_nor_committed() -> (
    None
):
    processor, handler = scaled({1}), Echo()
    inputs = [TopicPartition(CHAIN, 1), TopicPartition(POLICY, 0)]
    producer = FakeProducer()
    await processor._step(Consumer(inputs), {1: producer}, handler, {tp: 0 for tp in inputs})  # type: ignore[arg-type]
    assert handler.seen == [5, 5]  # both folded into state
    assert producer.sent == [("out", b"t.assist.chain/1")]
    assert producer.offsets == {TopicPartition(CHAIN, 1): 6}


class Fenced(FakeProducer):
    async def commit_transaction(self) -> None:
        raise ProducerFenced()


async def test_a_fenced_task_fails_the_run_though_the_other_tasks_commit() -> None:
    processor = scaled({0, 1})
    inputs = [TopicPartition(CHAIN, 0), TopicPartition(CHAIN, 1)]
    kept, fenced = FakeProducer(), Fenced()
    with pytest.raises(ProducerFenced):
        await processor._step(
            Consumer(inputs), {0: kept, 1: fenced}, Echo(), {tp: 0 for tp in inputs}
        )  # type: ignore[arg-type]
    assert kept.committed == 1


def test_a_scaled_out_processor_has_timers_only_when_they_are_idempotent() -> None:
    with pytest.raises(ValueError, match="only when what they fire is idempotent"):
        ProcessorConfig("t.x", (CHAIN,), "t.dl", tick_seconds=1.0, scale_out=ScaleOut("a"))
    ProcessorConfig(
        "t.x", (CHAIN,), "t.dl", tick_seconds=1.0, scale_out=ScaleOut("a", idempotent_timers=True)
    )


class Ticking(Echo):
    def tick(self, now: datetime) -> Sequence[Outbound]:
        return [Outbound("out", b"k", b"fired")]


async def test_what_timers_fire_goes_in_the_transaction_of_the_instances_first_task() -> None:
    config = ProcessorConfig(
        "t.scheduler",
        (CHAIN,),
        "t.dl",
        tick_seconds=0.0,
        scale_out=ScaleOut("b", idempotent_timers=True),
    )
    processor = Processor(config, Ticking, KafkaSettings())
    processor._assignment = TaskAssignment(3, frozenset({1, 2}))
    producers = {1: FakeProducer(), 2: FakeProducer()}
    chain = [TopicPartition(CHAIN, 2)]
    await processor._step(Consumer(chain), producers, Ticking(), {tp: 0 for tp in chain})  # type: ignore[arg-type]
    assert producers[1].sent == [("out", b"fired")]
    assert producers[2].sent == [("out", b"t.assist.chain/2")]
