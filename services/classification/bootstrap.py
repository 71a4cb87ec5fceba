"""Composition root of classification."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.classification.handler import ClassificationHandler
from services.runtime.service import ServiceParts, processor_service, scale_out
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    # No household state to rebuild, so the inputs start at the committed offsets; the policy
    # versions are read whole from assist.policy by the handler's bootstrap at every start.
    # Instances share the chain's partitions; every one follows the policy versions whole.
    return processor_service(
        "classification",
        kafka,
        topics,
        (topics.chain, topics.policy),
        lambda: ClassificationHandler(topics),
        replay_inputs=False,
        scale_out=scale_out(settings, broadcast=(topics.policy,)),
    )
