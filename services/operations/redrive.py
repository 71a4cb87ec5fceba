"""Reading dead letters from Kafka and re-driving one: the adapter behind `assist deadletter`.

A re-drive is one Kafka transaction: the message goes back to its source topic with its original
key, and a DeadLetterRedriven record goes to assist.deadletter.redriven, both or neither. All
re-drives share one transactional id, so starting one fences any other still in flight, and the
"already re-driven?" check is made after that fence, on committed records only.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
from datetime import UTC, datetime
from typing import Any

from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.feedback import DeadLetterRedriven
from services.operations.deadletters import DeadLetterEntry, DeadLetterLog, redrive_refusal
from services.runtime.kafka import make_consumer, make_producer, partitions_of
from services.runtime.settings import KafkaSettings


class RedriveRefused(Exception):  # noqa: N818 - a verdict, with the reason to show
    """The dead letter may not be re-driven now (see deadletters.redrive_refusal)."""


async def read_topic(kafka: KafkaSettings, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every committed record of `topic`, from the beginning to its end at the time of asking."""
    consumer = make_consumer(kafka, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        partitions = await partitions_of(consumer, topic, timeout)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {timeout:.0f}s")
            batches = await consumer.getmany(*partitions, timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def load_dead_letters(kafka: KafkaSettings, topics: TopicNames) -> DeadLetterLog:
    """Every dead letter with its re-drives (all of them kept, not only the recent ones)."""
    log = DeadLetterLog(topics, keep=10**9)
    redrives = await read_topic(kafka, topics.deadletter_redriven)
    for record in await read_topic(kafka, topics.deadletter):
        log.observe(topics.deadletter, record.value)
    for record in redrives:
        log.observe(topics.deadletter_redriven, record.value)
    return log


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


async def redrive(
    kafka: KafkaSettings,
    topics: TopicNames,
    dead_letter_id: str,
    value: bytes | None = None,
    force: bool = False,
) -> DeadLetterRedriven:
    """Re-publish a dead letter's original bytes (or `value`, a fix) to its source topic."""
    producer = make_producer(kafka, transactional_id=f"{topics.namespace}operations.redrive")
    try:
        await producer.start()  # init_transactions: fences any re-drive still in flight
        entry: DeadLetterEntry = (await load_dead_letters(kafka, topics)).find(dead_letter_id)
        refusal = redrive_refusal(entry, topics, force)
        if refusal is not None:
            raise RedriveRefused(refusal)
        payload = entry.value if value is None else value
        source = entry.letter.source
        await producer.begin_transaction()
        try:
            sent = await producer.send_and_wait(source.topic, payload, key=entry.key)
            record = DeadLetterRedriven(
                dead_letter_id=entry.letter.dead_letter_id,
                redriven_at=datetime.now(UTC),
                topic=source.topic,
                partition=sent.partition,
                offset=sent.offset,
                value_sha256=hashlib.sha256(payload).hexdigest(),
                fixed=value is not None,
                forced=bool(entry.redrives),
                operator=_operator(),
            )
            await producer.send_and_wait(
                topics.deadletter_redriven,
                canonical_json(record.model_dump(mode="json")),
                key=entry.dead_letter_id.encode(),
            )
            await producer.commit_transaction()
        except BaseException:
            await producer.abort_transaction()
            raise
        return record
    finally:
        await producer.stop()
