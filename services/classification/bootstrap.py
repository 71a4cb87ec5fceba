"""Composition root of classification."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.classification.handler import ClassificationHandler
from services.policy.standards import PolicyBook
from services.runtime.service import ServiceParts, processor_service
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    policy = PolicyBook.load_default()
    # Stateless: nothing to rebuild, so it starts at the committed offsets.
    return processor_service(
        "classification",
        kafka,
        topics,
        (topics.chain,),
        lambda: ClassificationHandler(topics, policy),
        replay_inputs=False,
    )
