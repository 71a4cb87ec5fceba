"""Processors of the services built as their services build them, to run inside a test."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.feedback.handler import FeedbackHandler
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings


def feedback_processor(topics: TopicNames, kafka: KafkaSettings) -> Processor:
    """Feedback's processor as its service builds it, its timer and lag checks quick."""
    return Processor(
        ProcessorConfig(
            f"{topics.namespace}feedback",
            (topics.chain, topics.feedback, topics.clock),
            topics.deadletter,
            tick_seconds=0.2,
            lag_check_seconds=0.3,
        ),
        lambda: FeedbackHandler(topics),
        kafka,
    )
