"""Reading dead letters from Kafka and re-driving one: the adapter behind `assist deadletter`.

A re-drive is one Kafka transaction: the message goes back to its source topic with its original
key, and a DeadLetterRedriven record goes to assist.deadletter.redriven, both or neither. All
re-drives share one transactional id, so starting one fences any other still in flight, and the
"already re-driven?" check is made after that fence, on committed records only.

A truncated dead letter holds only the first bytes of its original: the original is read back
from its source offset, and re-driven only when its SHA-256 is the one the dead letter recorded.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

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


class OriginalGone(LookupError):
    """The original of a truncated dead letter cannot be read back from its source offset."""


async def read_record(
    kafka: KafkaSettings, topic: str, partition: int, offset: int, timeout: float = 30.0
) -> Any:
    """The committed record at `topic`/`partition`@`offset`, or OriginalGone saying why not."""
    consumer = make_consumer(kafka, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        tp = TopicPartition(topic, partition)
        if tp not in await partitions_of(consumer, topic, timeout):
            raise OriginalGone(f"{topic} has no partition {partition}")
        consumer.assign([tp])
        first, end = (
            (await consumer.beginning_offsets([tp]))[tp],
            (await consumer.end_offsets([tp]))[tp],
        )
        if not first <= offset < end:
            raise OriginalGone(f"{topic}/{partition} holds offsets {first} to {end - 1} now")
        consumer.seek(tp, offset)
        deadline = asyncio.get_running_loop().time() + timeout
        while await consumer.position(tp) <= offset:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic}/{partition}@{offset} took over {timeout:.0f}s")
            for record in (await consumer.getmany(tp, timeout_ms=500, max_records=1)).get(tp, []):
                if record.offset == offset:
                    return record
                if record.offset > offset:
                    break
        raise OriginalGone(f"no committed record at {topic}/{partition}@{offset}")
    finally:
        await consumer.stop()


async def original_of(kafka: KafkaSettings, entry: DeadLetterEntry) -> tuple[bytes | None, bytes]:
    """The original key and value of a dead letter: quoted whole, or read back from the source
    offset (checked against the recorded SHA-256)."""
    value = entry.value
    if value is not None and not entry.key_truncated:
        return entry.key, value
    source = entry.letter.source
    where = f"{source.topic}/{source.partition}@{source.offset}"
    try:
        record = await read_record(kafka, source.topic, source.partition, source.offset)
    except OriginalGone as gone:
        raise OriginalGone(
            f"the dead letter holds only the first {len(entry.quoted)} of {entry.value_bytes} "
            f"bytes, and the original is not at {where} ({gone}): re-drive it with "
            "--value-file FIXED.json"
        ) from None
    original: bytes = record.value or b""
    if hashlib.sha256(original).hexdigest() != entry.letter.value_sha256:
        raise OriginalGone(
            f"the record at {where} is not the dead letter's original (another SHA-256): "
            "re-drive it with --value-file FIXED.json"
        )
    return record.key, original


def operator_name() -> str:
    """Who is at the keyboard, for the records of operators' actions."""
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
        if value is not None and not entry.key_truncated:
            key, payload = entry.key, value
        else:  # the original, quoted or read back from its source offset, or its key for a fix
            key, original = await original_of(kafka, entry)
            payload = original if value is None else value
        source = entry.letter.source
        await producer.begin_transaction()
        try:
            sent = await producer.send_and_wait(source.topic, payload, key=key)
            record = DeadLetterRedriven(
                dead_letter_id=entry.letter.dead_letter_id,
                redriven_at=datetime.now(UTC),
                topic=source.topic,
                partition=sent.partition,
                offset=sent.offset,
                value_sha256=hashlib.sha256(payload).hexdigest(),
                fixed=value is not None,
                forced=bool(entry.redrives),
                operator=operator_name(),
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
