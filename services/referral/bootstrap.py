"""Composition root of referral."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.referral.handler import ReferralHandler
from services.runtime.pseudonym import load_pseudonyms
from services.runtime.service import ServiceParts, processor_service
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    # The chain and the policy versions are both replayed from their start at every start:
    # the versions give the service-level days of the referrals issued. The deployment's
    # keyed pseudonym gives charity its household_ref (need_to_know.py).
    pseudonyms = load_pseudonyms(settings.data_dir)
    return processor_service(
        "referral",
        kafka,
        topics,
        (topics.chain, topics.policy),
        lambda: ReferralHandler(topics, pseudonym=pseudonyms.of),
    )
