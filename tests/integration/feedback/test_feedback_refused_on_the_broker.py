"""Feedback's processor on the real broker: an answer that cannot be taken is told back on the
department's own topic, in the transaction that consumes it, and only once across a restart."""

from __future__ import annotations

import asyncio
import json
import uuid

from support.kafka_io import produce, read_all, wait_for_records
from support.processors import feedback_processor, running

from contracts.topics import TopicNames
from events.feedback import FeedbackRefused
from services.runtime.kafka import make_consumer, partitions_of
from services.runtime.settings import KafkaSettings


async def committed_offsets(
    kafka: KafkaSettings, group: str, topic: str, at_least: int, timeout: float = 30.0
) -> int:
    """The offsets `group` committed on `topic`, summed over its partitions, once they reach
    `at_least` (the broker writes a transaction's markers just after answering the commit)."""
    consumer = make_consumer(kafka, group_id=group)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            total = sum([await consumer.committed(tp) or 0 for tp in partitions])
            if total >= at_least or asyncio.get_running_loop().time() > deadline:
                return total
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def test_an_answer_for_an_unknown_referral_is_told_back_on_the_departments_topic(
    kafka: KafkaSettings, topics: TopicNames
) -> None:
    feedback_id = str(uuid.uuid4())
    answer = {
        "referral_id": "R-NOPE",
        "department": "education",
        "outcome": "ACCEPTED",
        "feedback_id": feedback_id,
    }
    await produce(kafka, topics.feedback, [(b"R-NOPE", json.dumps(answer).encode())])
    async with running(feedback_processor(topics, kafka), timeout=30) as feedback:
        [record] = await wait_for_records(kafka, topics.referrals("education"), 1)
        # The input offset went in the same transaction: committed once the refusal is readable.
        assert await committed_offsets(kafka, feedback.config.name, topics.feedback, 1) == 1

    assert record.key == b"R-NOPE"
    refusal = FeedbackRefused.model_validate_json(record.value)
    assert (refusal.department.value, refusal.referral_id, str(refusal.feedback_id)) == (
        "education",
        "R-NOPE",
        feedback_id,
    )
    assert (refusal.status, refusal.field) == (404, None)
    assert refusal.reason == "unknown referral 'R-NOPE'"
    assert refusal.source_offset == 0
    assert await read_all(kafka, topics.deadletter) == []  # told back, not dead-lettered

    # Restarted, the processor replays the answer without telling it again; a message that
    # names no department after it is still a dead letter.
    await produce(kafka, topics.feedback, [(b"R-NOPE", b'{"referral_id":"R-NOPE"}')])
    async with running(feedback_processor(topics, kafka), timeout=30):
        [letter] = await wait_for_records(kafka, topics.deadletter, 1)
    assert "department: Field required" in json.loads(letter.value)["reason"]
    assert len(await read_all(kafka, topics.referrals("education"))) == 1
