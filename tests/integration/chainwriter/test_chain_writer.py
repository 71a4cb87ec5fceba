"""The chain writer on the real broker: order, hash links, duplicates, a kill -9 mid-stream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from support.chains import (
    assert_gap_free_and_linked,
    by_household,
    messages,
    produce_in_slices,
    workload,
)
from support.kafka_io import produce, read_all, read_documents, wait_for_documents
from support.processes import ServiceProcess
from support.processors import running_writer

from contracts.topics import TopicNames
from events.envelope import Envelope
from services.chainwriter.writer import ChainWriter
from services.runtime.deadletter import original_value, read_dead_letter
from services.runtime.peek import EVENT_TYPE_HEADER
from services.runtime.processor import Processor
from services.runtime.settings import KafkaSettings


async def wait_consumed(processor: Processor, count: int, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while processor.status.consumed < count:
        assert asyncio.get_running_loop().time() < deadline, processor.status
        await asyncio.sleep(0.2)


async def test_thousand_events_of_fifty_households_chain_gap_free(
    kafka: KafkaSettings, topics: TopicNames
) -> None:
    events = workload()
    await produce(kafka, topics.events, messages(events))
    async with running_writer(kafka, topics):
        documents = await wait_for_documents(kafka, topics.chain, 1000)
    assert_gap_free_and_linked(documents, events)
    assert len(by_household(documents)) == 50
    # Each record names its event type in a header, for consumers that pass over types.
    for record in await read_all(kafka, topics.chain):
        kind = json.loads(record.value)["event_type"].encode()
        assert (EVENT_TYPE_HEADER, kind) in record.headers


async def test_the_same_thousand_delivered_twice_give_the_same_chain(
    kafka: KafkaSettings, topics: TopicNames
) -> None:
    events = workload()
    async with running_writer(kafka, topics) as writer:
        await produce(kafka, topics.events, messages(events))
        first = await wait_for_documents(kafka, topics.chain, 1000)
        await produce(kafka, topics.events, messages(events))
        await wait_consumed(writer, 2000)
    async with running_writer(kafka, topics) as restarted:  # and across a restart
        await produce(kafka, topics.events, messages(events[:100]))
        await wait_consumed(restarted, 100)
    again = await read_documents(kafka, topics.chain)
    assert len(again) == len(first) == 1000
    assert by_household(again) == by_household(first)
    assert_gap_free_and_linked(again, events)


async def test_garbage_goes_to_dead_letters_and_later_events_still_chain(
    kafka: KafkaSettings, topics: TopicNames
) -> None:
    events = workload(20, households=3)
    garbage = [(b"HH-000", b"\xff\x00 this is not an event"), (b"HH-001", b'{"event_type":"Nope"}')]
    await produce(kafka, topics.events, messages(events[:10]) + garbage + messages(events[10:]))
    async with running_writer(kafka, topics) as writer:
        documents = await wait_for_documents(kafka, topics.chain, 20)
        dead = await wait_for_documents(kafka, topics.deadletter, 2)
        assert writer.status.consumed == 22
    assert_gap_free_and_linked(documents, events)
    letters = [read_dead_letter(_bytes(d)) for d in dead]
    assert {d["source"]["topic"] for d in letters} == {topics.events}
    assert {original_value(d) for d in letters} == {value for _, value in garbage}
    reasons = " | ".join(d["reason"] for d in letters)
    assert "not JSON" in reasons and "event_type: unknown event type 'Nope'" in reasons


def _bytes(document: dict[str, Any]) -> bytes:
    import json

    return json.dumps(document).encode()


@pytest.mark.timeout(240)
async def test_kill_9_mid_stream_gives_the_same_chain_as_an_uninterrupted_run(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    events = workload(3000, households=50, seed=11)
    await produce(kafka, topics.events, messages(events[:300]))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ASSIST_TOPIC_NAMESPACE": topics.namespace,
    }
    writer = ServiceProcess("chainwriter", env, tmp_path).start()
    feeding: asyncio.Task[None] | None = None
    try:
        await wait_for_documents(kafka, topics.chain, 1, timeout=90)
        # The rest keeps arriving while the writer works, so the kill lands mid-stream however
        # fast the writer is.
        feeding = asyncio.create_task(produce_in_slices(kafka, topics.events, events[300:]))
        await asyncio.sleep(0.5)
        writer.kill9()
        partial = len(await read_documents(kafka, topics.chain))
        assert not feeding.done(), "the kill came too late to interrupt anything"
        assert partial < 3000
        await feeding
        writer.start()
        documents = await wait_for_documents(kafka, topics.chain, 3000, timeout=120)
        await asyncio.sleep(2)  # anything written twice would show up by now
        documents = await read_documents(kafka, topics.chain)
    finally:
        writer.stop()
        if feeding is not None and not feeding.done():
            feeding.cancel()
    assert_gap_free_and_linked(documents, events)

    reference_topics = TopicNames(topics.namespace + "ref.")
    from services.runtime.settings import TopicSettings
    from services.runtime.topic_admin import ensure_topics

    await ensure_topics(kafka, TopicSettings(namespace=reference_topics.namespace, partitions=3))
    await produce(kafka, reference_topics.events, messages(events))
    async with running_writer(kafka, reference_topics):
        reference = await wait_for_documents(kafka, reference_topics.chain, 3000)
    assert by_household(documents) == by_household(reference)
    print(f"kill -9 after {partial} of 3000 chained; restarted chain equals the uninterrupted one")


async def test_a_start_reads_only_what_the_chain_gained_since_the_last_one(
    kafka: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    """The writer keeps each partition's heads on disk (services/chainwriter/snapshot.py) from
    where its committed appends landed, and at a clean stop: the next start reads nothing of
    the chain, or, from older files (a crash before the minute's write), only the records after
    them; it still drops every repeat and links every append."""
    events = workload()
    first, second, third = events[:500], events[500:800], events[800:]
    heads = tmp_path / "chainwriter" / "heads"

    async def start(produced: list[Envelope], chained: int) -> int:
        async with running_writer(kafka, topics, tmp_path) as writer:
            await wait_consumed(writer, 0)
            await produce(kafka, topics.events, messages(produced))
            await wait_for_documents(kafka, topics.chain, chained)
            await wait_consumed(writer, len(produced))
            assert isinstance(writer.handler, ChainWriter)
            return writer.handler.records_read_at_start

    def files() -> dict[str, bytes]:
        return {kept.name: kept.read_bytes() for kept in heads.glob("*.heads.json")}

    assert await start(first, 500) == 0  # an empty chain
    after_first = files()
    assert after_first  # kept at the clean stop
    assert await start(second, 800) == 0  # nothing appended since the stop
    # Older files, as a crash before the minute's write leaves them: only the 300 after them.
    for name, content in after_first.items():
        (heads / name).write_bytes(content)
    assert await start(first + second, 800) == 300  # and the repeats of all 800 dropped
    assert await start(third, 1000) == 0
    assert await start(events, 1000) == 0  # every repeat dropped again
    documents = await read_documents(kafka, topics.chain)
    assert len(documents) == 1000
    assert_gap_free_and_linked(documents, events)

    # A kept file that no longer matches the chain (its last record's hash) is not used.
    for kept in (tmp_path / "chainwriter" / "heads").glob(f"{topics.chain}-*.heads.json"):
        document = json.loads(kept.read_text())
        document["last"][1] = "0" * 64
        kept.write_text(json.dumps(document))
    assert await start(events[:10], 1000) == 1000
    assert len(await read_documents(kafka, topics.chain)) == 1000
