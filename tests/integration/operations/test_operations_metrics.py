"""/metrics on a real broker: it parses as Prometheus text and its counters move with the events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from operations_running import Running, chain_writer, eventually, sample
from support.factories import application_event
from support.kafka_io import produce
from support.processors import feedback_processor

from contracts.topics import TopicNames
from events.clock import ClockAdvanced, ClockMode
from events.envelope import new_event
from events.referral import ReferralIssued
from events.types import Department, Program
from services.runtime.settings import KafkaSettings


def overdue_referral() -> bytes:
    payload = ReferralIssued(
        referral_id="R-metrics-1",
        program=Program.HOUSING_ASSISTANCE,
        department=Department.HOUSING,
        due_at=datetime.now(UTC) - timedelta(days=2),
        region_code="330100",
        tier="DIBAO",
    )
    event = new_event(
        payload,
        household_id="HH-M-1",
        producer="test",
        occurred_at=datetime.now(UTC) - timedelta(days=30),
    )
    return event.to_bytes()


def clock_tick() -> bytes:
    """The system's time, as the scheduler publishes it: overdue is judged against it."""
    now = datetime.now(UTC)
    return new_event(
        ClockAdvanced(now=now, mode=ClockMode.WALL),
        household_id=None,
        producer="scheduler",
        occurred_at=now,
    ).to_bytes()


async def test_metrics_parse_and_move_when_events_flow(
    kafka: KafkaSettings, topics: TopicNames, serve_processors: object
) -> None:
    ns = topics.namespace
    writer = chain_writer(topics, kafka)
    feedback = feedback_processor(topics, kafka)
    running: Running = serve_processors("chainwriter", writer, feedback)  # type: ignore[operator]
    await eventually(lambda: _healthy(running), "both processors ready")
    before = await running.metrics()

    garbage = json.loads(application_event("HH-M-9").to_bytes())
    garbage["occurred_at"] = "yesterday"
    messages = [
        (f"HH-M-{n}".encode(), application_event(f"HH-M-{n}").to_bytes()) for n in range(2, 7)
    ]
    messages += [(b"HH-M-1", overdue_referral()), (b"HH-M-9", json.dumps(garbage).encode())]
    await produce(kafka, topics.events, messages)
    await produce(kafka, topics.clock, [(b"clock", clock_tick())])

    async def moved() -> object:
        now = await running.metrics()
        folded = sample(
            now,
            "assist_events_in_total",
            service=f"{ns}feedback",
            topic=topics.chain,
            event_type="ReferralIssued",
        )
        overdue = sample(now, "assist_overdue_referrals", department="housing")
        chained = sample(
            now,
            "assist_events_in_total",
            service=f"{ns}chainwriter",
            topic=topics.events,
            event_type="ReferralOverdue",
        )
        return now if folded == 1 and overdue >= 1 and chained == 1 else None

    after = await eventually(moved, "the referral chained, found overdue, and that chained")
    assert isinstance(after, dict)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    writer_in = {"service": f"{ns}chainwriter", "topic": topics.events}
    assert delta("assist_events_in_total", **writer_in, event_type="ApplicationReceived") == 5
    assert delta("assist_events_in_total", **writer_in, event_type="ReferralIssued") == 1
    assert (
        delta(
            "assist_events_out_total",
            service=f"{ns}chainwriter",
            topic=topics.chain,
            event_type="ApplicationReceived",
        )
        == 5
    )
    assert delta("assist_dead_letters_total", **writer_in) == 1
    assert (
        delta(
            "assist_events_out_total",
            service=f"{ns}chainwriter",
            topic=topics.deadletter,
            event_type="DeadLetter",
        )
        == 1
    )
    # 5 applications, the referral, the garbage, and feedback's ReferralOverdue
    assert delta("assist_processing_seconds_count", service=f"{ns}chainwriter") == 8
    assert delta("assist_transaction_seconds_count", service=f"{ns}chainwriter") >= 1
    # feedback said the referral is overdue, on assist.events, for the chain writer to chain
    assert (
        delta(
            "assist_events_out_total",
            service=f"{ns}feedback",
            topic=topics.events,
            event_type="ReferralOverdue",
        )
        == 1
    )
    assert sample(after, "assist_last_progress_timestamp_seconds", service=f"{ns}chainwriter") > 0
    for partition in range(3):  # the `topics` fixture makes 3 partitions per topic
        key = (
            "assist_consumer_lag",
            frozenset(
                {
                    "service": f"{ns}chainwriter",
                    "topic": topics.events,
                    "partition": str(partition),
                }.items()
            ),
        )
        assert key in after
    assert (
        delta(
            "assist_http_requests_total",
            service="chainwriter",
            method="GET",
            route="/metrics",
            status="200",
        )
        >= 1
    )
    assert (
        sample(
            after,
            "assist_http_requests_total",
            service="chainwriter",
            method="GET",
            route="/healthz",
            status="200",
        )
        >= 1
    )
    assert (
        delta(
            "assist_http_request_seconds_count",
            service="chainwriter",
            method="GET",
            route="/metrics",
        )
        >= 1
    )


async def _healthy(running: Running) -> bool:
    status, _ = await running.health()
    return status == 200
