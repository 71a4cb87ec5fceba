"""Composition root of the scheduler: the clock's publisher, the dates-that-matter processor,
the HTTP routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contracts.topics import TopicNames
from events.clock import ClockMode
from services.runtime.auth import TokenStore
from services.runtime.clock import ClockSettings, ClockView
from services.runtime.http import install_common_routes
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.publisher import KafkaPublisher
from services.runtime.service import ServiceParts, scale_out
from services.runtime.settings import KafkaSettings, ServiceSettings
from services.scheduler.app import SchedulerDeps, create_app
from services.scheduler.clock import ClockKeeper, read_latest_tick
from services.scheduler.timers import DatesThatMatter

# How often the processor looks whether the clock has passed a timer: a manual advance fires
# its first dates within this, and a tick with nothing due costs one look at the heap's top.
TIMER_CHECK_SECONDS = 0.2


def build(kafka: KafkaSettings, topics: TopicNames, settings: ServiceSettings) -> ServiceParts:
    clock_settings = ClockSettings()

    def caught_up() -> bool:
        return processor.status.caught_up  # the processor below, by the time it ticks

    # Instances share the chain's partitions, each with the timers of its own households (a
    # fired date's id is derived from the household and the date: a repeat is dropped at the
    # chain); every one follows the clock and the policy versions whole.
    processor = Processor(
        ProcessorConfig(
            name=f"{topics.namespace}scheduler",
            inputs=(topics.chain, topics.clock, topics.policy),
            deadletter_topic=topics.deadletter,
            replay_inputs=True,
            tick_seconds=TIMER_CHECK_SECONDS,
            scale_out=scale_out(
                settings, broadcast=(topics.clock, topics.policy), idempotent_timers=True
            ),
            # What it knows of each household, by partition of the chain (timers.py).
            state_dir=settings.data_dir / "scheduler" / "state",
        ),
        lambda: DatesThatMatter(topics, live=caught_up),
        kafka,
    )
    publisher = KafkaPublisher(kafka, "scheduler")
    view = ClockView(clock_settings)
    keeper = ClockKeeper(
        clock_settings, publisher, topics.clock, view, lambda: read_latest_tick(kafka, topics.clock)
    )
    app = create_app(SchedulerDeps(TokenStore.load(settings.tokens_file), keeper))
    install_common_routes(app, "scheduler", lambda: [processor])
    background: list[Callable[[], Awaitable[None]]] = [keeper.run]
    if clock_settings.clock is ClockMode.MANUAL:
        # Ticks another instance publishes, too (the wall clock needs no reading).
        background.append(lambda: view.follow(kafka, topics.clock))
    return ServiceParts(
        app, [processor], on_start=publisher.start, on_stop=publisher.stop, background=background
    )
