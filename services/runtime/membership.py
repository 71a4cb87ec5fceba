"""An instance's membership of its processor's consumer group: which tasks it owns, and when
that changes.

The member consumer subscribes to the household-keyed inputs so that Kafka's group protocol
says who is alive; the leader deals tasks (partition_tasks.py) with the assignor below. The
member never reads a record (its partitions are paused): the processor reads its partitions
with a consumer of its own, assigned, and rebuilt at every change of tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

from services.runtime.kafka import make_consumer
from services.runtime.logging import get_logger
from services.runtime.partition_tasks import TaskAssignment, assign_tasks, task_count
from services.runtime.settings import KafkaSettings

log = get_logger()


class TaskAssignor(AbstractPartitionAssignor):  # type: ignore[misc]  # aiokafka is untyped
    """Deals whole tasks: partition p of every subscribed topic goes with task p mod T. The
    members say their instance name and their most tasks; the leader takes the least of those,
    so instances configured differently still agree, and tells each member T and its tasks."""

    name = "assist-tasks"
    version = 0

    def __init__(self, instance: str, most_tasks: int) -> None:
        self.instance = instance
        self.most_tasks = most_tasks
        self.last: TaskAssignment | None = None

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        about = {"instance": self.instance, "most_tasks": self.most_tasks}
        return ConsumerProtocolMemberMetadata(
            self.version, sorted(topics), json.dumps(about).encode()
        )

    def assign(
        self, cluster: Any, members: Mapping[str, ConsumerProtocolMemberMetadata]
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        about = {member: _about(metadata) for member, metadata in members.items()}
        topics = sorted({topic for metadata in members.values() for topic in metadata.subscription})
        counts = {topic: len(cluster.partitions_for_topic(topic) or ()) for topic in topics}
        tasks = task_count(counts.values(), min(most for _, most in about.values()))
        dealt = assign_tasks(tasks, {member: name for member, (name, _) in about.items()})
        assignments = {}
        for member, mine in dealt.items():
            partitions = [
                (topic, [p for p in range(counts[topic]) if p % tasks in mine]) for topic in topics
            ]
            told = json.dumps({"tasks": tasks, "mine": sorted(mine)}).encode()
            assignments[member] = ConsumerProtocolMemberAssignment(self.version, partitions, told)
        log.info(
            "tasks dealt",
            tasks=tasks,
            instances={about[m][0]: sorted(mine) for m, mine in dealt.items()},
        )
        return assignments

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        told = json.loads(assignment.user_data or b"{}")
        self.last = TaskAssignment(int(told.get("tasks", 1)), frozenset(told.get("mine", ())))


def _about(metadata: ConsumerProtocolMemberMetadata) -> tuple[str, int]:
    try:
        about = json.loads(metadata.user_data)
        return str(about["instance"]), int(about["most_tasks"])
    except (ValueError, KeyError, TypeError):
        return "", 1  # a member of another kind: it gets tasks, and keeps T at 1


class Membership:
    """Joins `group` on `topics` and keeps the latest task assignment."""

    def __init__(
        self,
        kafka: KafkaSettings,
        group: str,
        topics: tuple[str, ...],
        instance: str,
        most_tasks: int,
    ) -> None:
        self._kafka, self._group, self._topics = kafka, group, topics
        self._assignor = TaskAssignor(instance, most_tasks)
        self._consumer: AIOKafkaConsumer | None = None
        self._polling: asyncio.Task[None] | None = None
        self.assignment: TaskAssignment | None = None
        # Set when the assignment differs from what the current run took (the run clears it).
        self.changed = asyncio.Event()
        self.dealt = asyncio.Event()  # set once the group has dealt this member its tasks

    @property
    def joined(self) -> bool:
        return self._consumer is not None

    async def start(self) -> None:
        consumer = make_consumer(self._kafka, group_id=self._group, assignors=(self._assignor,))
        consumer.subscribe(list(self._topics), listener=_Listener(self, consumer))
        try:
            await consumer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10)
            raise
        self._consumer = consumer
        self._polling = asyncio.create_task(self._keep_polling(consumer))

    async def leave(self) -> None:
        """Leave the group at once (the others take the tasks without waiting for a timeout)."""
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._polling
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._consumer.stop(), 10)
        self._consumer = self._polling = None
        self.assignment = None
        self.dealt.clear()

    def _took(self) -> None:
        new = self._assignor.last or TaskAssignment(1, frozenset())
        if new != self.assignment:
            log.info(
                "tasks assigned",
                group=self._group,
                tasks=new.tasks,
                mine=sorted(new.mine),
                before=None if self.assignment is None else sorted(self.assignment.mine),
            )
            self.assignment = new
            self.changed.set()
        self.dealt.set()

    async def _keep_polling(self, consumer: AIOKafkaConsumer) -> None:
        """The group counts a member that stops polling as gone: poll, though all is paused."""
        while True:
            try:
                await consumer.getmany(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the member goes on; the run sees the broker
                log.warning("group membership poll failed", group=self._group, error=str(error))
                await asyncio.sleep(1)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, membership: Membership, consumer: AIOKafkaConsumer) -> None:
        self._membership, self._consumer = membership, consumer

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            self._consumer.pause(*assigned)
        self._membership._took()  # noqa: SLF001 - the listener is its own part
