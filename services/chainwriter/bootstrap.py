"""Composition root of the chain writer."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.chainwriter.signing_key import ensure_writer_key
from services.chainwriter.writer import ChainWriter
from services.runtime.service import ServiceParts, processor_service, scale_out
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    key = ensure_writer_key(settings.data_dir)
    # Its state comes from assist.chain itself (bootstrap), so its input is never replayed;
    # what a start read is kept on disk, so the next one reads only what came after it.
    # Instances share the partitions of assist.events; each reads its own part of the chain.
    snapshots = settings.data_dir / "chainwriter" / "heads"
    return processor_service(
        "chainwriter",
        kafka,
        topics,
        (topics.events,),
        lambda: ChainWriter(topics, key.private, snapshots),
        replay_inputs=False,
        scale_out=scale_out(settings),
    )
