"""Households' chains for the tests: a workload of proposed events, the checks every chain must
pass (gap-free, hash-linked, each event once), and whole chains as the chain writer writes them."""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from typing import Any

from events.chain import verify_chain
from events.envelope import Envelope
from services.runtime.kafka import make_producer
from services.runtime.settings import KafkaSettings
from support.factories import application_event
from support.kafka_io import produce
from support.loop import Loop, application, dibao_members


def workload(count: int = 1000, households: int = 50, seed: int = 7) -> list[Envelope]:
    rng = random.Random(seed)
    return [application_event(f"HH-{rng.randrange(households):03d}", n) for n in range(count)]


def messages(events: list[Envelope]) -> list[tuple[bytes | None, bytes]]:
    return [(e.key, e.to_bytes()) for e in events]


def by_household(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in documents:
        chains[document["household_id"]].append(document)
    return chains


def assert_gap_free_and_linked(documents: list[dict[str, Any]], events: list[Envelope]) -> None:
    chains = by_household(documents)
    assert sum(len(c) for c in chains.values()) == len({e.event_id for e in events})
    for household, chain in chains.items():
        assert [d["sequence"] for d in chain] == list(range(1, len(chain) + 1)), household
        assert verify_chain(chain).valid, household


async def produce_in_slices(
    kafka: KafkaSettings, topic: str, events: list[Any], size: int = 50, pause: float = 0.2
) -> None:
    for start in range(0, len(events), size):
        await produce(kafka, topic, messages(events[start : start + size]))
        await asyncio.sleep(pause)


def loop_chain_records(households: range) -> list[tuple[bytes, bytes]]:
    """Each household's chain as the chain writer wrote it (the in-memory loop's)."""
    loop = Loop()
    for n in households:
        loop.submit(application(f"HH-K{n:02d}", dibao_members()))
    return [
        (json.loads(value)["household_id"].encode(), value) for value in loop.log[loop.topics.chain]
    ]


async def chain_in_transactions(kafka: KafkaSettings, topic: str, records: list[Any]) -> None:
    """As the chain writer writes: in transactions, so each partition holds their markers too
    (a consumer's position after the last record is past the offset committed for it)."""
    producer = make_producer(kafka, transactional_id=f"{topic}.test-writer")
    await producer.start()
    try:
        for start in range(0, len(records), 20):
            async with producer.transaction():
                for key, value in records[start : start + 20]:
                    await producer.send(topic, value, key=key)
    finally:
        await producer.stop()
