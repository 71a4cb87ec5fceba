"""Composition root of audit: the chain index processor, the readers, the HTTP routes."""

from __future__ import annotations

from contracts.topics import TopicNames
from services.audit.access import AccessRecorder
from services.audit.app import AuditDeps, create_app
from services.audit.chainlog import PositionReader
from services.audit.checkpointer import Checkpointer
from services.audit.config import AuditSettings, CheckpointSettings
from services.audit.index import ChainIndex
from services.audit.indexer import ChainIndexer
from services.audit.rebuild import Rebuilder
from services.audit.store import ChainStore
from services.runtime.auth import TokenStore
from services.runtime.clock import ClockSettings
from services.runtime.http import install_common_routes
from services.runtime.logging import get_logger
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.service import ServiceParts
from services.runtime.settings import KafkaSettings, ServiceSettings
from services.runtime.signing_keys import load_or_create, load_public_pem
from services.runtime.writer_signature import writer_public_key_file

log = get_logger()


def build(
    kafka: KafkaSettings,
    topics: TopicNames,
    settings: ServiceSettings,
    audit: AuditSettings | None = None,
    checkpoints: CheckpointSettings | None = None,
) -> ServiceParts:
    audit = audit or AuditSettings()
    checkpoints = checkpoints or CheckpointSettings()
    key = load_or_create(settings.data_dir / "audit")
    writer_key_file = writer_public_key_file(settings.data_dir)
    writer_key = load_public_pem(writer_key_file.read_text()) if writer_key_file else None
    log.info(
        "chain writer's signatures",
        checked=writer_key is not None,
        public_key_file=str(writer_key_file) if writer_key_file else None,
    )
    checkpointer = Checkpointer(
        kafka,
        topics.checkpoints,
        topics.chain,
        key,
        checkpoints.heads_per_part,
        checkpoints.kept_tree_heads,
        audit.accept_contradicted_tree_head,
    )
    processor = Processor(
        # Replays the whole chain at every start: the index lives in memory, rebuilt from the log.
        ProcessorConfig(
            name=f"{topics.namespace}audit",
            inputs=(topics.chain,),
            deadletter_topic=topics.deadletter,
            tick_seconds=min(1.0, checkpoints.seconds),
            instance=settings.instance,
        ),
        lambda: ChainIndexer(
            checkpoints,
            audit.cache_bytes,
            checkpointer.submit,
            writer_key,
            ready=lambda: processor.status.caught_up,
        ),
        kafka,
    )

    def indexer() -> ChainIndexer | None:
        handler = processor.handler
        if isinstance(handler, ChainIndexer) and processor.status.caught_up:
            return handler
        return None

    def index() -> ChainIndex | None:
        current = indexer()
        return current.index if current is not None else None

    reader = PositionReader(kafka, topics.chain, concurrency=audit.log_readers)
    access = AccessRecorder(kafka, topics.audit_access)
    rebuilder = Rebuilder(
        kafka, topics.chain, audit.cache_bytes, indexer, audit.rebuild_timeout_seconds
    )
    app = create_app(
        AuditDeps(
            TokenStore.load(settings.tokens_file),
            indexer,
            ChainStore(index, reader),
            access,
            key,
            rebuilder.rebuild,
            lambda: checkpointer.latest,
            lambda: checkpointer.latest_tree_head,
            checkpointer,
            writer_key,
            session_seconds=int(audit.session_hours * 3600),
            zone=ClockSettings().zone,
        )
    )
    install_common_routes(app, "audit", lambda: [processor], problems=checkpointer.problems)

    async def start() -> None:
        await reader.start()
        await access.start()
        await checkpointer.start()

    async def stop() -> None:
        await checkpointer.stop()
        await access.stop()
        await reader.stop()

    return ServiceParts(app, [processor], on_start=start, on_stop=stop)
