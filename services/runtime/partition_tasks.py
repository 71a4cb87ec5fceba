"""Tasks: how a scaled-out processor's input partitions are grouped and shared by its instances.

A task is the unit of ownership: partition p of every household-keyed input belongs to task
p mod T, and one instance at a time owns a task. Each task has its own transactional id, so
the instance that takes a task over fences whoever had it before (its open transaction is
aborted, its next commit refused): aiokafka cannot tie a transaction to the consumer group's
generation (KIP-447), so the fencing is by transactional id, as Kafka Streams did before it.

T divides every keyed input's partition count, so (x mod P) mod T = x mod T: a household is
in the same task whichever of those topics its record is on. T is at most a configured number
(the most instances that can share the work; also how many transactions a batch may need), so
64 partitions need not mean 64 producers in one instance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskAssignment:
    """What one instance owns: `mine` of the `tasks` tasks."""

    tasks: int
    mine: frozenset[int]

    def owns(self, partition: int) -> bool:
        return partition % self.tasks in self.mine


def task_count(partition_counts: Iterable[int], most: int) -> int:
    """The largest T <= `most` that divides every count (1 when only 1 does)."""
    common = 0
    for count in partition_counts:
        if count < 1:
            raise ValueError(f"a topic with {count} partitions cannot be shared")
        common = math.gcd(common, count)
    if common == 0:
        raise ValueError("no input topic to share")
    return max(t for t in range(1, min(common, max(most, 1)) + 1) if common % t == 0)


def assign_tasks(tasks: int, instances: Mapping[str, str]) -> dict[str, frozenset[int]]:
    """Tasks 0..tasks-1 dealt round-robin to the members (member id -> instance name), in the
    order of their instance names: the same instances always get the same tasks, so an instance
    that rejoins takes back what it had and the others keep theirs."""
    order = sorted(instances, key=lambda member: (instances[member], member))
    dealt: dict[str, set[int]] = {member: set() for member in order}
    for task in range(tasks):
        dealt[order[task % len(order)]].add(task)
    return {member: frozenset(owned) for member, owned in dealt.items()}
