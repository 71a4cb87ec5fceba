"""The benchmark's raw baselines, both clients, on the real broker with its SCRAM logins.

The loop's efficiency is stated against the faster client, so both measurements must move
exactly the messages they say, each only once, through the same login the loop's clients use.
"""

from __future__ import annotations

import uuid

import pytest
from support.kafka_io import read_all

from bench.baseline import measure_baseline
from bench.baseline_librdkafka import measure_librdkafka
from services.runtime.settings import KafkaSettings


@pytest.mark.parametrize("measure", [measure_baseline, measure_librdkafka])
async def test_a_raw_baseline_moves_every_message_once(kafka: KafkaSettings, measure) -> None:  # type: ignore[no-untyped-def]
    topic = f"raw{uuid.uuid4().hex[:8]}.baseline"
    seen: list[int] = []
    figures = await measure(kafka, topic, 1500, 700, partitions=3, on_consumed=seen.append)
    assert figures.messages == 1500
    assert figures.message_bytes == 700
    assert seen[-1] == 1500  # read back while produced, no more and no fewer
    for rate in (
        figures.pipelined_per_second,
        figures.produce_per_second,
        figures.consume_per_second,
    ):
        assert rate > 0
    records = await read_all(kafka, topic)
    assert len(records) == 1500
    assert len({r.key for r in records}) == 1500
    assert {len(r.value) for r in records} == {700}


async def test_a_second_measurement_counts_only_its_own_messages(kafka: KafkaSettings) -> None:
    topic = f"raw{uuid.uuid4().hex[:8]}.baseline"
    await measure_librdkafka(kafka, topic, 400, 100, partitions=2)
    seen: list[int] = []
    again = await measure_librdkafka(
        kafka, topic, 300, 100, partitions=2, on_consumed=seen.append, create=False
    )
    assert again.messages == 300
    assert seen[-1] == 300
    assert len(await read_all(kafka, topic)) == 700
