"""A handler that watches its outputs hears, after each commit, where every output landed, and
nothing of a transaction that failed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from runtime_fakes import TP, Echo, FakeConsumer, FakeProducer

from services.runtime.processor import Landed, Processor, ProcessorConfig, WatchesItsOutputs
from services.runtime.settings import KafkaSettings


class Watcher(Echo):
    def __init__(self) -> None:
        super().__init__()
        self.landed: list[Landed] = []

    def committed(self, landed: Sequence[Landed]) -> None:
        self.landed.extend(landed)

    def stopping(self) -> None: ...


class Failing(FakeProducer):
    async def commit_transaction(self) -> None:
        raise RuntimeError("the broker said no")


def processor_with(handler: Watcher) -> Processor:
    processor = Processor(
        ProcessorConfig("t.writer", (TP.topic,), "t.dl"), Watcher, KafkaSettings()
    )
    processor.handler = handler
    return processor


async def test_a_committed_transaction_tells_where_each_output_landed() -> None:
    handler = Watcher()
    assert isinstance(handler, WatchesItsOutputs)
    producer = FakeProducer()
    processor = processor_with(handler)
    consumer = FakeConsumer({7: b"double-a", 8: b"b"})
    await processor._step(consumer, {0: producer}, handler, {TP: 0})  # type: ignore[arg-type]
    assert [(w.out.value, w.partition, w.offset) for w in handler.landed] == [
        (b"double-adouble-a", 0, 0),
        (b"b", 0, 1),
    ]


async def test_a_failed_transaction_tells_nothing() -> None:
    handler = Watcher()
    processor = processor_with(handler)
    consumer = FakeConsumer({7: b"a"})
    with pytest.raises(RuntimeError, match="the broker said no"):
        await processor._step(consumer, {0: Failing()}, handler, {TP: 0})  # type: ignore[arg-type]
    assert handler.landed == []
