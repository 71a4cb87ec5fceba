"""Running a service: logging, topics, its processors and its HTTP server, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from contracts.topics import TopicNames
from services.runtime.auth import TokenStore
from services.runtime.http import install_common_routes
from services.runtime.logging import configure_logging, get_logger
from services.runtime.processor import Processor, ProcessorConfig, ScaleOut, StreamHandler
from services.runtime.settings import (
    KafkaSettings,
    ServiceSettings,
    TopicSettings,
    service_settings,
)
from services.runtime.taskdump import install_task_dump
from services.runtime.topic_admin import ensure_topics


@dataclass
class ServiceParts:
    """What a service's composition root builds: its app, processors and lifecycle hooks."""

    app: FastAPI
    processors: list[Processor]
    on_start: Callable[[], Awaitable[None]] | None = None
    on_stop: Callable[[], Awaitable[None]] | None = None
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Builder = Callable[[KafkaSettings, TopicNames, ServiceSettings], ServiceParts]


def processor_service(
    name: str,
    kafka: KafkaSettings,
    topics: TopicNames,
    inputs: tuple[str, ...],
    handler_factory: Callable[[], StreamHandler],
    *,
    replay_inputs: bool = True,
    tick_seconds: float | None = None,
    scale_out: ScaleOut | None = None,
    state_dir: Path | None = None,
) -> ServiceParts:
    """A service that is one stream processor plus /healthz and /metrics; one of several
    instances sharing its partitions when `scale_out` says how."""
    processor = Processor(
        ProcessorConfig(
            name=f"{topics.namespace}{name}",
            inputs=inputs,
            deadletter_topic=topics.deadletter,
            replay_inputs=replay_inputs,
            tick_seconds=tick_seconds,
            instance=scale_out.instance if scale_out is not None else "0",
            scale_out=scale_out,
            state_dir=state_dir,
        ),
        handler_factory,
        kafka,
    )
    app = FastAPI(title=f"assist {name}", version="1")
    install_common_routes(app, name, lambda: [processor])
    return ServiceParts(app, [processor])


def scale_out(
    settings: ServiceSettings, broadcast: tuple[str, ...] = (), idempotent_timers: bool = False
) -> ScaleOut:
    """This instance's part in sharing a processor's work, from its settings."""
    return ScaleOut(settings.instance, settings.scale_out_tasks, broadcast, idempotent_timers)


def serve(name: str, default_port: int, build: Builder) -> None:
    """The whole of a service's `__main__`: settings from the environment, build, run."""
    kafka, settings = KafkaSettings(), service_settings(name, default_port)
    parts = build(kafka, TopicNames(TopicSettings().namespace), settings)
    with _profiled(os.environ.get("ASSIST_PROFILE")):
        ended_alone = asyncio.run(
            run_service(
                name,
                settings,
                kafka,
                parts.app,
                parts.processors,
                parts.background,
                parts.on_start,
                parts.on_stop,
            )
        )
    if ended_alone:
        # Its supervisor (Compose, systemd, Kubernetes) starts it again, with fresh clients.
        raise SystemExit(1)


# A service keeps its state (every household it knows) in memory for good, and each full pass
# of the cycle collector walks all of it: at 40,000 households, 0.3-2 s pauses every few
# seconds in referral and identification, finding next to nothing (make bench). Every so often
# what exists is moved out of the collector's sight (gc.freeze). Such objects are still freed
# by reference counting when dropped; only a reference cycle alive at a freeze that dies later
# is kept (a few hundred objects per service over that run).
GC_FREEZE_SECONDS = 10.0


async def _freeze_long_lived() -> None:
    while True:
        await asyncio.sleep(GC_FREEZE_SECONDS)
        gc.freeze()


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """ASSIST_PROFILE=<file>: sample the process with pyinstrument (a dev dependency) and write
    the profile when the service stops: HTML for a .html file, text otherwise (`make bench`)."""
    if not path:
        yield
        return
    from pyinstrument import Profiler  # imported only when asked for

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        out = Path(path)
        out.write_text(
            profiler.output_html()
            if out.suffix == ".html"
            else profiler.output_text(unicode=True, show_all=False)
        )


def _report_end(
    task: asyncio.Future[None], stopping: asyncio.Event, ended_alone: list[str]
) -> None:
    """A processor's task ends on its own only when a newer instance fenced it, or on a bug:
    either way the service stops, and exits with status 1 for its supervisor to restart it."""
    if stopping.is_set():
        return
    error = None if task.cancelled() else task.exception()
    name = task.get_name() if isinstance(task, asyncio.Task) else str(task)
    get_logger().error(
        "processor ended while the service runs: stopping the service",
        task=name,
        error=f"{type(error).__name__}: {error}" if error else None,
    )
    ended_alone.append(name)
    stopping.set()


async def run_service(
    name: str,
    settings: ServiceSettings,
    kafka: KafkaSettings,
    app: FastAPI,
    processors: Sequence[Processor],
    background: Sequence[Callable[[], Awaitable[None]]] = (),
    on_start: Callable[[], Awaitable[None]] | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Start everything, then wait for SIGTERM/SIGINT and stop in order. True when it stopped
    because a processor ended on its own (fenced by a newer copy of itself, or a bug)."""
    configure_logging(name, settings.log_format, settings.log_level)
    log = get_logger()
    app.state.stall_seconds = settings.stall_seconds  # read by /healthz (runtime/http.py)
    # Operators' details (/healthz report, /metrics) need an operator token where tokens exist.
    app.state.tokens = TokenStore.load_optional(settings.tokens_file)
    if kafka.principal is None:
        # A broker without authentication (a developer's own): the service makes its topics.
        # With it, a service may not: the deployment ensures topics and grants beforehand.
        await ensure_topics(kafka, TopicSettings())
    if on_start:
        await on_start()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    install_task_dump(loop)
    tasks: list[asyncio.Future[None]] = [
        asyncio.create_task(p.run(), name=p.config.name) for p in processors
    ]
    ended_alone: list[str] = []
    for task in tasks:
        task.add_done_callback(lambda ended: _report_end(ended, stop, ended_alone))
    tasks += [asyncio.ensure_future(job()) for job in (*background, _freeze_long_lived)]
    serving = asyncio.create_task(server.serve(), name="http")
    log.info(
        "service started",
        http=f"http://{settings.http_host}:{settings.http_port}",
        processors=[p.config.name for p in processors],
    )
    await stop.wait()
    log.info("service stopping")
    for processor in processors:
        processor.stop()
    for task in tasks[len(processors) :]:  # background jobs have no stop of their own
        task.cancel()
    server.should_exit = True
    for task in tasks:
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(serving, timeout=5)
    if on_stop:
        await on_stop()
    log.info("service stopped", **({"because": ended_alone} if ended_alone else {}))
    return bool(ended_alone)
