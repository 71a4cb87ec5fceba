"""An operator's order to skip a message: the processor dead-letters that message instead of
handling it, records the skip in the same transaction as the offset past it, and never folds the
message in a later replay; an order for a message already handled is stale and ignored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from aiokafka import TopicPartition
from runtime_fakes import TP, Echo, FakeConsumer, FakeProducer

from contracts.topics import TopicNames, skips_topic_of
from events.feedback import DeadLetter
from events.skips import MessageSkipped, SkipOrdered, skip_id
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings
from services.runtime.skips import SkipBook, parse_skip_record, skipped_record
from services.runtime.stuck import StuckAt

ORDERED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TOPICS = TopicNames("t.")


def order(offset: int, processor: str = "t.echo", topic: str = TP.topic) -> SkipOrdered:
    return SkipOrdered(
        skip_id=skip_id(processor, topic, TP.partition, offset),
        processor=processor,
        topic=topic,
        partition=TP.partition,
        offset=offset,
        reason="crashes the handler (ticket 42)",
        operator="ops.li",
        ordered_at=ORDERED,
    )


def done(offset: int) -> MessageSkipped:
    out = skipped_record(order(offset), TOPICS.deadletter_skips, uuid.uuid4())
    record = parse_skip_record(out.value)
    assert isinstance(record, MessageSkipped)
    return record


def test_the_skips_topic_sits_beside_the_dead_letters() -> None:
    assert (
        skips_topic_of(TOPICS.deadletter) == TOPICS.deadletter_skips == "t.assist.deadletter.skips"
    )


def test_a_book_keeps_this_processors_orders_not_yet_carried_out_nor_stale() -> None:
    book = SkipBook("t.echo")
    for record in (order(17), order(18), order(3), order(20, processor="t.other"), done(18)):
        book.observe(parse_skip_record(record.model_dump_json().encode()))
    book.observe(parse_skip_record(b"not a skip record"))
    book.observe(order(17).model_copy(update={"reason": "a second order"}))
    assert book.done == {(TP.topic, 2, 18)}
    pending = book.pending({TP: 10})  # offset 3 was handled before the order came: stale
    assert list(pending) == [(TP.topic, 2, 17)]
    assert pending[(TP.topic, 2, 17)].reason == "crashes the handler (ticket 42)"
    assert book.pending({TopicPartition("elsewhere", 0): 0}) == {}


def processor() -> Processor:
    config = ProcessorConfig("t.echo", (TP.topic,), TOPICS.deadletter)
    return Processor(config, Echo, KafkaSettings())


async def test_an_ordered_message_is_dead_lettered_and_recorded_with_its_offset() -> None:
    p, handler, producer = processor(), Echo(), FakeProducer()
    p._skip_orders = {(TP.topic, 2, 17): order(17)}
    p.status.stuck = p._failures.stuck = StuckAt(TP.topic, 2, 17, "boom", 3, 0.0)
    p._failures._at = (TP.topic, 2, 17)
    consumer = FakeConsumer({16: b"a", 17: b"poison", 18: b"b"})

    await p._step(consumer, {0: producer}, handler, {TP: 16})  # type: ignore[arg-type]

    assert handler.seen == [16, 18]  # never handed the skipped message
    assert producer.committed == 1 and producer.offsets == {TP: 19}
    by_topic: dict[str, list[bytes]] = {}
    for topic, value in producer.sent:
        by_topic.setdefault(topic, []).append(value)
    assert by_topic["out"] == [b"a", b"b"]
    [letter_value] = by_topic[TOPICS.deadletter]
    letter = DeadLetter.model_validate_json(letter_value)
    assert (letter.source.offset, letter.service) == (17, "t.echo")
    assert letter.reason == (
        "skipped by ops.li at 2026-06-01T09:00:00+00:00: crashes the handler (ticket 42)"
    )
    [skipped_value] = by_topic[TOPICS.deadletter_skips]
    skipped = MessageSkipped.model_validate(json.loads(skipped_value))
    assert skipped.offset == 17 and skipped.dead_letter_id == letter.dead_letter_id
    assert skipped.skip_id == order(17).skip_id
    assert p.status.stuck is None  # committed past where it was stuck
    assert p._skip_orders == {} and (TP.topic, 2, 17) in p._skipped


async def test_a_message_skipped_before_is_not_folded_when_the_state_is_replayed() -> None:
    p, handler, producer = processor(), Echo(), FakeProducer()
    p._skipped = {(TP.topic, 2, 5)}
    consumer = FakeConsumer({4: b"a", 5: b"poison", 6: b"b", 10: b"c"})
    await p._step(consumer, {0: producer}, handler, {TP: 10})  # type: ignore[arg-type]
    assert handler.seen == [4, 6, 10]
    assert producer.sent == [("out", b"c")]  # what replay caused is discarded, as always
