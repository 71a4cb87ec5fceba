"""Composition root of referral."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.referral.handler import ReferralHandler
from services.runtime.pseudonym import load_pseudonyms
from services.runtime.service import ServiceParts, processor_service, scale_out
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    # The policy versions are replayed from their start at every start (they give the
    # service-level days of the referrals issued); the chain from where the state kept on disk
    # ends. The deployment's keyed pseudonym gives charity its household_ref (need_to_know.py).
    # Instances share the chain's partitions; every one reads the versions whole.
    pseudonyms = load_pseudonyms(settings.data_dir)
    return processor_service(
        "referral",
        kafka,
        topics,
        (topics.chain, topics.policy),
        lambda: ReferralHandler(topics, pseudonym=pseudonyms.of),
        scale_out=scale_out(settings, broadcast=(topics.policy,)),
        state_dir=settings.data_dir / "referral" / "state",
    )
