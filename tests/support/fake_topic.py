"""A stand-in for a consumer of one single-partition topic, as a bootstrap reads it whole."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition


class FakeTopic:
    """Holds `values` in partition 0 of `topic`; hands them out `batch` at a time."""

    def __init__(self, topic: str, values: list[bytes], batch: int = 1) -> None:
        self.tp = TopicPartition(topic, 0)
        self.values, self.at, self.batch, self.stopped = values, 0, batch, False
        self._client = self  # partitions_of asks the client for the cluster's metadata

    async def fetch_all_metadata(self) -> FakeTopic:
        return self

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0} if topic == self.tp.topic else set()

    async def start(self) -> None: ...

    async def stop(self) -> None:
        self.stopped = True

    def assign(self, partitions: list[TopicPartition]) -> None:
        assert partitions == [self.tp]

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        self.at = 0

    async def beginning_offsets(
        self, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return {self.tp: 0}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {self.tp: len(self.values)}

    async def position(self, tp: TopicPartition) -> int:
        return self.at

    async def getmany(self, *partitions: TopicPartition, **_: Any) -> dict[TopicPartition, Any]:
        batch = self.values[self.at : self.at + self.batch]
        self.at += len(batch)
        return {self.tp: [SimpleNamespace(value=v) for v in batch]} if batch else {}
