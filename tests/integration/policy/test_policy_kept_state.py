"""The policy service keeps its open households on local disk by partition of the chain: a start
restores them, replays only the chain's tail, and holds what a full replay would."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.chains import chain_in_transactions, loop_chain_records
from support.processors import running

from contracts.topics import TopicNames
from deploy.local.tokens import ensure_tokens
from services.policy.bootstrap import build
from services.policy.handler import PolicyHandler
from services.runtime.processor import Processor
from services.runtime.settings import KafkaSettings, ServiceSettings


def policy(kafka: KafkaSettings, topics: TopicNames, data_dir: Path) -> Processor:
    tokens = ensure_tokens(data_dir / "tokens.json")  # its routes need them to be built
    settings = ServiceSettings(data_dir=data_dir, tokens_file=tokens)
    (processor,) = build(kafka, topics, settings).processors
    return processor


async def held(processor: Processor, timeout: float = 60) -> tuple[object, list[object]]:
    """Once caught up: the impact's fingerprint and its open households."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not processor.status.caught_up:
        assert asyncio.get_running_loop().time() < deadline, processor.status
        await asyncio.sleep(0.2)
    handler = processor.handler
    assert isinstance(handler, PolicyHandler)
    households = sorted(handler.households.snapshot(), key=lambda h: h.household_id)
    return handler.fingerprint(), list(households)


async def test_a_start_restores_the_households_and_holds_what_a_full_replay_holds(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    first, later = loop_chain_records(range(6)), loop_chain_records(range(6, 9))
    await chain_in_transactions(kafka, topics.chain, first)
    async with running(policy(kafka, topics, tmp_path)) as one:
        await held(one)
    kept = sorted((tmp_path / "policy" / "state").glob(f"{topics.chain}-*.state"))
    assert kept, "no state kept at a clean stop"

    await chain_in_transactions(kafka, topics.chain, later)
    async with running(policy(kafka, topics, tmp_path)) as two:
        restored = await held(two)
    assert two.status.restored_partitions == len(kept)
    assert two.status.replayed == 0  # the chain before the stop came from disk
    assert len(restored[1]) == 9  # every household open, with its referrals

    # Without the files (another data directory): the whole chain replayed, the same state.
    async with running(policy(kafka, topics, tmp_path / "elsewhere")) as three:
        replayed = await held(three)
    assert three.status.restored_partitions == 0
    assert three.status.replayed == len(first) + len(later)
    assert restored == replayed
    assert all(h.referrals.open for h in restored[1])
