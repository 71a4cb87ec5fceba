"""Households' chains for the chain writer's tests: a workload of proposed events, and the
checks every chain must pass (gap-free, hash-linked, each event once)."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any

from events.chain import verify_chain
from events.envelope import Envelope
from services.runtime.settings import KafkaSettings
from support.factories import application_event
from support.kafka_io import produce


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
