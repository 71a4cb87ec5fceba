"""Composition root of feedback: the ledger processor, the overdue timer, the HTTP routes."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.topics import TopicNames
from events.clock import ClockMode
from services.feedback.app import FeedbackDeps, create_app
from services.feedback.handler import FeedbackHandler
from services.feedback.ledger import Ledger
from services.runtime.auth import TokenStore
from services.runtime.clock import ClockSettings
from services.runtime.http import install_common_routes
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.publisher import KafkaPublisher
from services.runtime.service import ServiceParts
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    processor = Processor(
        ProcessorConfig(
            name=f"{topics.namespace}feedback",
            # The clock drives the overdue timer: `tick` fires on the latest ClockAdvanced read.
            inputs=(topics.chain, topics.feedback, topics.clock),
            deadletter_topic=topics.deadletter,
            tick_seconds=settings.overdue_check_seconds,
        ),
        lambda: FeedbackHandler(topics),
        kafka,
    )
    publisher = KafkaPublisher(kafka, "feedback")

    def ledger() -> Ledger | None:
        handler = processor.handler
        ready = isinstance(handler, FeedbackHandler) and processor.status.caught_up
        return handler.ledger if ready and isinstance(handler, FeedbackHandler) else None

    manual = ClockSettings().clock is ClockMode.MANUAL

    def now() -> datetime:
        """The system's time: on a manual clock as the processor last read it from
        assist.clock (the wall clock until then)."""
        handler = processor.handler
        clock = handler.clock.now if isinstance(handler, FeedbackHandler) else None
        return clock if manual and clock is not None else datetime.now(UTC)

    app = create_app(
        FeedbackDeps(TokenStore.load(settings.tokens_file), publisher, topics, ledger, now)
    )
    install_common_routes(app, "feedback", lambda: [processor])
    return ServiceParts(app, [processor], on_start=publisher.start, on_stop=publisher.stop)
