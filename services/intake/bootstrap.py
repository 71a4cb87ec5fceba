"""Composition root of intake: HTTP routes, the durable publisher, the visit index, the clock."""

from __future__ import annotations

from contracts.topics import TopicNames
from events.clock import ClockMode
from services.intake.app import IntakeDeps, create_app
from services.intake.config import IntakeSettings
from services.intake.durable import DurablePublisher
from services.intake.idempotency import IdempotencyKeys
from services.intake.visits import VisitIndex
from services.rules.standards import PolicyBook
from services.runtime.auth import TokenStore
from services.runtime.clock import ClockSettings, ClockView
from services.runtime.http import install_common_routes
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.pseudonym import load_pseudonyms
from services.runtime.service import ServiceParts
from services.runtime.settings import KafkaSettings, ServiceSettings


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    visits = Processor(
        ProcessorConfig(
            name=f"{topics.namespace}intake.visits",
            inputs=(topics.chain,),
            deadletter_topic=topics.deadletter,
            # Kept by partition of the chain: a start reads only the chain's tail (visits.py).
            state_dir=settings.data_dir / "intake" / "state",
        ),
        lambda: VisitIndex(topics),
        kafka,
    )
    own = IntakeSettings()
    # One transactional id per instance (ASSIST_INSTANCE): a restarted intake fences its
    # predecessor and the broker aborts whatever that one left open.
    publisher = DurablePublisher(
        kafka,
        transactional_id=f"{topics.namespace}intake.publisher.{settings.instance}",
        service="intake",
        seconds=own.durable_seconds,
        max_batch=own.max_batch,
    )
    clock = ClockView(ClockSettings())  # "now" is the system's clock, followed on assist.clock

    def visit_index() -> VisitIndex | None:
        handler = visits.handler
        return handler if isinstance(handler, VisitIndex) else None

    deps = IntakeDeps(
        tokens=TokenStore.load(settings.tokens_file),
        publisher=publisher,
        topics=topics,
        policy=PolicyBook.load_default(),
        visits=visit_index,
        keys=IdempotencyKeys(),
        pseudonyms=load_pseudonyms(settings.data_dir),
        clock=clock,
        durable_seconds=own.durable_seconds,
    )
    app = create_app(deps)
    install_common_routes(app, "intake", lambda: [visits])
    # On the wall clock "now" is the wall's: there is nothing to follow.
    following = clock.mode is ClockMode.MANUAL
    return ServiceParts(
        app,
        [visits],
        on_start=publisher.start,
        on_stop=publisher.stop,
        background=[lambda: clock.follow(kafka, topics.clock)] if following else [],
    )
