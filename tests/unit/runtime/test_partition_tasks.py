"""How a scaled-out processor's partitions are grouped into tasks and dealt to its instances."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

from services.runtime.membership import TaskAssignor
from services.runtime.partition_tasks import TaskAssignment, assign_tasks, task_count


@pytest.mark.parametrize(
    ("counts", "most", "expected"),
    [
        ((64, 64), 8, 8),
        ((64,), 64, 64),
        ((6, 6), 8, 6),
        ((6, 3), 8, 3),  # a divisor of every count: the same household, the same task
        ((64, 6), 8, 2),
        ((7,), 8, 7),
        ((7,), 4, 1),  # no divisor of 7 between 2 and 4
        ((12,), 5, 4),
        ((3,), 0, 1),
    ],
)
def test_the_task_count_divides_every_input_and_stays_within_the_most(
    counts: tuple[int, ...], most: int, expected: int
) -> None:
    assert task_count(counts, most) == expected


def test_a_household_is_in_the_same_task_on_every_input() -> None:
    tasks = task_count((64, 16), 8)
    for hashed in range(10_000):  # any key's hash: partition = hash mod the topic's count
        assert (hashed % 64) % tasks == (hashed % 16) % tasks


def test_inputs_that_cannot_be_shared_are_refused() -> None:
    with pytest.raises(ValueError, match="no input topic"):
        task_count((), 8)
    with pytest.raises(ValueError, match="0 partitions"):
        task_count((6, 0), 8)


def test_tasks_are_dealt_in_the_order_of_the_instance_names_not_the_member_ids() -> None:
    dealt = assign_tasks(8, {"m-9": "a", "m-1": "c", "m-5": "b"})
    assert dealt == {
        "m-9": frozenset({0, 3, 6}),
        "m-5": frozenset({1, 4, 7}),
        "m-1": frozenset({2, 5}),
    }
    # The same instance back under a new member id takes back the same tasks.
    assert assign_tasks(8, {"m-10": "a", "m-1": "c", "m-5": "b"})["m-10"] == dealt["m-9"]


def test_more_instances_than_tasks_leave_some_standing_by() -> None:
    dealt = assign_tasks(2, {"x": "0", "y": "1", "z": "2"})
    assert dealt == {"x": frozenset({0}), "y": frozenset({1}), "z": frozenset()}


def test_an_assignment_owns_the_partitions_of_its_tasks() -> None:
    mine = TaskAssignment(4, frozenset({1, 3}))
    assert [p for p in range(16) if mine.owns(p)] == [1, 3, 5, 7, 9, 11, 13, 15]


class _Cluster:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.counts[topic]))


def _member(assignor: TaskAssignor, topics: list[str]) -> Any:
    return ConsumerProtocolMemberMetadata.decode(assignor.metadata(topics).encode())


def test_the_leader_deals_partitions_of_every_topic_by_task_and_tells_each_member() -> None:
    a, b = TaskAssignor("a", most_tasks=8), TaskAssignor("b", most_tasks=2)
    cluster = _Cluster({"events": 6, "chain": 6})
    members = {"m-b": _member(b, ["events", "chain"]), "m-a": _member(a, ["events", "chain"])}

    assignments = a.assign(cluster, members)

    # The least of the members' most tasks: 2 (b's), so each owns one task, three partitions.
    told = {m: json.loads(assignment.user_data) for m, assignment in assignments.items()}
    assert told == {"m-a": {"tasks": 2, "mine": [0]}, "m-b": {"tasks": 2, "mine": [1]}}
    assert sorted(assignments["m-a"].partitions()) == [
        (topic, p) for topic in ("chain", "events") for p in (0, 2, 4)
    ]
    b.on_assignment(assignments["m-b"])
    assert b.last == TaskAssignment(2, frozenset({1}))


def test_a_member_without_our_metadata_keeps_everyone_at_one_task() -> None:
    assignor = TaskAssignor("a", most_tasks=8)
    stranger = ConsumerProtocolMemberMetadata(0, ["events"], b"")
    assignments = assignor.assign(
        _Cluster({"events": 4}), {"m-a": _member(assignor, ["events"]), "m-x": stranger}
    )
    told = {m: json.loads(assignment.user_data) for m, assignment in assignments.items()}
    assert told == {"m-x": {"tasks": 1, "mine": [0]}, "m-a": {"tasks": 1, "mine": []}}
