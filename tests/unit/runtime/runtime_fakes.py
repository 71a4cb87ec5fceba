"""Stand-ins for a processor's handler, consumer and producer, to drive `Processor._step`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from services.runtime.messages import Inbound, Outbound

TP = TopicPartition("t.assist.events", 2)


class Echo:
    """Outputs each value to `out`, twice over when it starts with b"double"."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        self.seen.append(message.offset)
        value = message.value or b""
        return [Outbound("out", message.key, value * (2 if value.startswith(b"double") else 1))]

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []


class FakeConsumer:
    def __init__(self, values: dict[int, bytes]) -> None:
        self.values = values

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[Any]]:
        records = [
            SimpleNamespace(offset=o, key=b"k", value=v, timestamp=0, headers=())
            for o, v in self.values.items()
        ]
        self.values = {}
        return {TP: records} if records else {}

    async def position(self, tp: TopicPartition) -> int:
        return 100

    def last_stable_offset(self, tp: TopicPartition) -> int:
        return 100

    def highwater(self, tp: TopicPartition) -> int:
        return 100


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.offsets: dict[TopicPartition, int] = {}
        self.committed = 0

    async def begin_transaction(self) -> None: ...

    async def send_offsets_to_transaction(
        self, offsets: dict[TopicPartition, int], group: str
    ) -> None:
        self.offsets.update(offsets)

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Like aiokafka: a future of where the record landed (here: partition 0, in order)."""
        self.sent.append((topic, value))
        landed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        landed.set_result(SimpleNamespace(partition=0, offset=len(self.sent) - 1))
        return landed

    async def commit_transaction(self) -> None:
        self.committed += 1

    async def abort_transaction(self) -> None: ...
