"""Composition root of policy: the state processor, the publisher, the HTTP routes."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.topics import TopicNames
from services.policy.app import PolicyDeps, create_app
from services.policy.handler import PolicyHandler
from services.policy.impacts import ImpactRunner
from services.policy.publishing import ensure_shipped_version
from services.policy.settings import PolicyPageSettings
from services.runtime.auth import TokenStore
from services.runtime.clock import ClockSettings, ClockView
from services.runtime.http import install_common_routes
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.publisher import KafkaPublisher
from services.runtime.service import ServiceParts
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(
    kafka: KafkaSettings,
    topics: TopicNames,
    settings: ServiceSettings,
    clock_settings: ClockSettings | None = None,
) -> ServiceParts:
    # The processor feeds the clock's ticks to this view: "today" of the routes, no second reader.
    clock = ClockView(clock_settings or ClockSettings())
    processor = Processor(
        ProcessorConfig(
            name=f"{topics.namespace}policy",
            inputs=(topics.policy, topics.chain, topics.clock),
            deadletter_topic=topics.deadletter,
            replay_inputs=True,
            # Its households, by partition of the chain: a start replays only what came after.
            state_dir=settings.data_dir / "policy" / "state",
        ),
        lambda: PolicyHandler(topics, clock),
        kafka,
    )
    publisher = KafkaPublisher(kafka, "policy")

    def state() -> PolicyHandler | None:
        handler = processor.handler
        ready = isinstance(handler, PolicyHandler) and processor.status.caught_up
        return handler if ready and isinstance(handler, PolicyHandler) else None

    async def start() -> None:
        await publisher.start()
        await ensure_shipped_version(kafka, topics.policy, publisher, datetime.now(UTC))

    app = create_app(
        PolicyDeps(
            TokenStore.load(settings.tokens_file),
            publisher,
            topics,
            state,
            clock,
            ImpactRunner(),
            PolicyPageSettings(),
        )
    )
    install_common_routes(app, "policy", lambda: [processor])
    return ServiceParts(app, [processor], on_start=start, on_stop=publisher.stop)
