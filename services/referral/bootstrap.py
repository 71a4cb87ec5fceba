"""Composition root of referral."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.policy.standards import PolicyBook
from services.referral.handler import ReferralHandler
from services.runtime.service import ServiceParts, processor_service
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    policy = PolicyBook.load_default()
    return processor_service(
        "referral", kafka, topics, (topics.chain,), lambda: ReferralHandler(topics, policy)
    )
