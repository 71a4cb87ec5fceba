"""Intake's visit index kept by partition of the chain: a partition restored from what was
kept holds that partition's visits, and only those."""

from __future__ import annotations

import json

from contracts.topics import TopicNames
from services.intake.visits import VisitIndex
from services.runtime.kept_state import KeepsState
from services.runtime.messages import Inbound
from services.runtime.peek import event_type_header

TOPICS = TopicNames("t.")


def visit(event_type: str, household: str, visit_id: str, partition: int, offset: int) -> Inbound:
    document = {
        "event_type": event_type,
        "household_id": household,
        "payload": {"visit_id": visit_id},
    }
    value = json.dumps(document).encode()
    return Inbound(
        TOPICS.chain,
        partition,
        offset,
        household.encode(),
        value,
        headers=(event_type_header(event_type),),
    )


def test_a_restored_partition_holds_its_visits_and_only_those() -> None:
    index = VisitIndex(TOPICS)
    assert isinstance(index, KeepsState) and index.state_topic == TOPICS.chain
    for message in (
        visit("VisitRequested", "HH-1", "V-1", 0, 0),
        visit("VisitRequested", "HH-2", "V-2", 1, 0),
        visit("VisitCompleted", "HH-1", "V-1", 0, 1),
        visit("VisitRequested", "HH-3", "V-3", 0, 2),
    ):
        assert index.handle(message, replaying=False) == []
    restored = VisitIndex(TOPICS)
    restored.load_partition(0, index.dump_partition(0))
    assert restored.households == {"V-1": "HH-1", "V-3": "HH-3"}
    assert restored.completed == {"V-1"}
    assert restored.dump_partition(0) == index.dump_partition(0)
    restored.load_partition(1, index.dump_partition(1))
    assert restored.households == index.households and restored.completed == index.completed
