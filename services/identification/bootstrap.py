"""Composition root of identification."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.identification.handler import Identification
from services.rules.standards import PolicyBook
from services.runtime.service import ServiceParts, processor_service
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    policy = PolicyBook.load_default()
    return processor_service(
        "identification",
        kafka,
        topics,
        # assist.policy: approved versions of the standards (warning amounts, time zones)
        (topics.chain, topics.monitoring, topics.policy),
        lambda: Identification(topics, policy),
    )
