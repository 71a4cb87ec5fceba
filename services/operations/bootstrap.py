"""Composition root of the operator console: two folding processors, a poller, the routes."""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI

from contracts.topics import TopicNames
from services.operations.app import ConsoleDeps, console_gate, install_console
from services.operations.deadletters import DeadLetterLog
from services.operations.health_poller import HealthPoller
from services.operations.overview import (
    Overview,
    ServiceView,
    build_overview,
    local_view,
    service_view,
)
from services.operations.referral_board import ReferralBoard
from services.operations.settings import ConsoleSettings
from services.operations.trends import Trends, sample
from services.runtime.auth import TokenStore
from services.runtime.http import STALL_SECONDS, health_report, install_common_routes
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.service import ServiceParts
from services.runtime.settings import KafkaSettings, ServiceSettings

SERVICE = "operations"


def build(
    kafka: KafkaSettings,
    topics: TopicNames,
    settings: ServiceSettings,
    console: ConsoleSettings | None = None,
) -> ServiceParts:
    console = console or ConsoleSettings()
    name = f"{topics.namespace}{SERVICE}"
    # Both fold their topics from the beginning at every start: the console keeps no state.
    letters = Processor(
        ProcessorConfig(
            name=f"{name}.deadletters",
            inputs=(topics.deadletter, topics.deadletter_redriven),
            deadletter_topic=topics.deadletter,
        ),
        lambda: DeadLetterLog(topics, keep=console.dead_letters_kept),
        kafka,
    )
    referrals = Processor(
        ProcessorConfig(
            name=f"{name}.referrals", inputs=(topics.chain,), deadletter_topic=topics.deadletter
        ),
        ReferralBoard,
        kafka,
    )
    processors = [letters, referrals]
    tokens = TokenStore.load(settings.tokens_file)
    # The services show their processors' details to operators only.
    client = httpx.AsyncClient(
        timeout=console.poll_timeout_seconds,
        headers={"Authorization": f"Bearer {tokens.token_for('operator')}"},
    )
    poller = HealthPoller(
        {k: v for k, v in console.services.items() if k != SERVICE},
        client,
        console.poll_seconds,
        rate_window_seconds=console.refresh_seconds,
    )
    app = FastAPI(
        title="assist operations",
        version="1",
        description="The operator console: processors, lag, throughput, dead letters "
        "and overdue referrals. Operator token required.",
    )

    def ready(processor: Processor) -> object | None:
        return processor.handler if processor.status.caught_up else None

    def service_views() -> list[ServiceView]:
        now = time.time()
        stall = float(getattr(app.state, "stall_seconds", STALL_SECONDS))
        own_ready, own_report = health_report(SERVICE, processors, stall)
        own_url = f"http://{settings.http_host}:{settings.http_port}"
        views = [service_view(health, now) for health in poller.snapshot()]
        views.append(local_view(SERVICE, own_url, own_ready, own_report, now))
        return views

    def dead_letters() -> DeadLetterLog | None:
        log = ready(letters)
        return log if isinstance(log, DeadLetterLog) else None

    def overview() -> Overview:
        board = ready(referrals)
        return build_overview(
            service_views(),
            board if isinstance(board, ReferralBoard) else None,
            dead_letters(),
            console.dead_letters_shown,
        )

    trends = Trends()

    async def sample_trends() -> None:
        # Only what the charts draw: not the referral board, which walks every referral.
        while True:
            await asyncio.sleep(console.trend_sample_seconds)
            log = dead_letters()
            views = [p for view in service_views() for p in view.processors]
            trends.record(sample(views, log.by_service if log else None, time.time()))

    gate = console_gate(tokens, int(console.session_hours * 3600))
    install_console(
        app,
        ConsoleDeps(gate, overview, dead_letters, console.refresh_seconds, lambda: trends),
    )
    install_common_routes(app, SERVICE, lambda: processors)
    return ServiceParts(
        app, processors, on_stop=client.aclose, background=[poller.run, sample_trends]
    )
