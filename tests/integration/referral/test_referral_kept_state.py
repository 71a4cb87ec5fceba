"""Referral keeps its households on local disk by partition of the chain: a start restores them
and replays only what the chain gained since, and still refers every household exactly once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from support.chains import chain_in_transactions, loop_chain_records
from support.kafka_io import read_documents, wait_for_documents
from support.processors import running

from contracts.topics import TopicNames
from services.referral.bootstrap import build
from services.runtime.processor import Processor
from services.runtime.settings import KafkaSettings, ServiceSettings


def referral(kafka: KafkaSettings, topics: TopicNames, data_dir: Path) -> Processor:
    (processor,) = build(kafka, topics, ServiceSettings(data_dir=data_dir)).processors
    return processor


async def issued(kafka: KafkaSettings, topics: TopicNames) -> list[str]:
    return [
        d["event_id"]
        for d in await read_documents(kafka, topics.events)
        if d["event_type"] == "ReferralIssued"
    ]


async def until_ready(processor: Processor, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not processor.status.caught_up:
        assert asyncio.get_running_loop().time() < deadline, processor.status
        await asyncio.sleep(0.2)


async def test_a_start_restores_the_households_and_replays_only_the_chains_tail(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    first, later = loop_chain_records(range(8)), loop_chain_records(range(8, 12))
    await chain_in_transactions(kafka, topics.chain, first)
    async with running(referral(kafka, topics, tmp_path)) as one:
        await wait_for_documents(kafka, topics.events, 8 * 4)
        await until_ready(one)
    kept = sorted((tmp_path / "referral" / "state").glob(f"{topics.chain}-*.state"))
    assert kept, "no state kept at a clean stop"

    await chain_in_transactions(kafka, topics.chain, later)
    async with running(referral(kafka, topics, tmp_path)) as two:
        await wait_for_documents(kafka, topics.events, 12 * 4)
        await until_ready(two)
        await asyncio.sleep(1)  # a referral issued twice would be on the topic by now
    assert two.status.restored_partitions == len(kept)
    assert two.status.replayed == 0  # every record before the stop came from disk
    assert two.status.consumed == len(later)
    referrals = await issued(kafka, topics)
    assert len(referrals) == len(set(referrals)) == 12 * 4

    # Files that no longer match the chain (here: from another state shape) are not used:
    # the partitions are replayed from their beginning, and nothing is issued again.
    for file in kept:
        head, _, data = file.read_bytes().partition(b"\n")
        about = json.loads(head) | {"schema": "an older shape"}
        file.write_bytes(json.dumps(about).encode() + b"\n" + data)
    async with running(referral(kafka, topics, tmp_path)) as three:
        await until_ready(three)
        await asyncio.sleep(1)
    assert three.status.restored_partitions == 0
    assert three.status.replayed == len(first) + len(later)
    assert len(await issued(kafka, topics)) == 12 * 4
