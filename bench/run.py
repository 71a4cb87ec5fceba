"""One benchmark run: a fresh broker, the services on a fresh namespace, every phase, the check.

Order: the verifiable log's proofs first, in this process alone (no broker: nothing else runs
yet, and a run that skips every phase of the loop starts neither broker nor services), then the
raw Kafka baselines (aiokafka, then librdkafka) and what authentication costs (before the
services start, so nothing else uses the broker; a run that skips every phase needing the
services starts none), then the loop entered through HTTP, the loop entered through the topic,
latency at a fraction of the HTTP throughput, a restart of each service, the top-up to the
impact's household count, the exactly-once check once the loop is at rest, the audit reads and
replays, the impact of a policy version and the re-screening once it is in effect (these change
the chains, so they come after the check and the audit), a second restart of each service at
the larger size, and the services' peak memory, read just before they are stopped (for a
service restarted, its peak since the last restart).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bench import auth_cost, engines, phases, policy_phases, report, restart, tree_heads
from bench.baseline import Baseline, measure_baseline
from bench.baseline_librdkafka import CLIENT as LIBRDKAFKA
from bench.baseline_librdkafka import measure_librdkafka
from bench.broker import BenchBroker, fresh_broker
from bench.injector import application_message, application_messages
from bench.observer import Observer, watched_ends
from bench.stack import BenchError, Stack
from bench.usage import peak_rss_mib
from bench.verdict import check_deliveries
from bench.workload import Household, Workload
from contracts.access import AUDITOR
from contracts.topics import TopicNames
from deploy.kafka.logins import ensure_logins
from deploy.local.stack import SCALED_OUT
from deploy.local.tokens import read_tokens, role_tokens
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SERVICE_PHASES = ("http", "kafka", "latency", "audit", "impact", "restart")  # need the services
LOOP_PHASES = (*SERVICE_PHASES, "auth", "engines")  # these need the broker
PHASES = (*LOOP_PHASES, "proofs", "pairs")  # "pairs" runs only with "kafka"
RAW_MESSAGES = 20_000
ENGINE_EVENTS = 10_000  # the fewest applications each engine's chain writer takes


@dataclass(frozen=True)
class Options:
    households: int = 20_000
    seed: int = 2026
    concurrency: int = 32
    latency_seconds: float = 30.0
    latency_load: float = 0.5  # of the HTTP loop throughput
    audit_sample: int = 300
    impact_households: int = 100_000  # open households the impact and re-screening cover
    profile: tuple[str, ...] = ()
    output: Path = RESULTS / "latest.json"
    keep: bool = False
    log_level: str = "INFO"
    skip: tuple[str, ...] = field(default=())  # of PHASES
    log_records: int = 1_000_000  # chain records of the verifiable log (proofs phase)

    @property
    def needs_loop(self) -> bool:
        """Whether a phase needing the broker and the services is selected."""
        return any(phase not in self.skip for phase in LOOP_PHASES)

    @property
    def needs_services(self) -> bool:
        return any(phase not in self.skip for phase in SERVICE_PHASES)


def _machine() -> dict[str, Any]:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout  # noqa: S607
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "uptime": uptime.strip(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _git_commit() -> str | None:
    found = subprocess.run(  # noqa: S603 - a fixed command line
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or None


async def run(options: Options, console: Console) -> dict[str, Any]:
    """Measure; the results, with `checks.ok` False when a household was not served right."""
    results: dict[str, Any] = {
        "run": {
            "started_at": datetime.now(UTC).isoformat(),
            "households": options.households,
            "impact_households": options.impact_households,
            "seed": options.seed,
            "concurrency": options.concurrency,
            "latency_load": options.latency_load,
            "git_commit": _git_commit(),
            "machine_before": _machine(),
            "profiled": list(options.profile),
        }
    }
    try:
        if "proofs" not in options.skip:
            results["run"]["log_records"] = options.log_records
            results["proofs"] = _verifiable_log(options, console)
        if options.needs_loop:
            await _loop(options, console, results)
    finally:
        results["run"]["finished_at"] = datetime.now(UTC).isoformat()
        results["run"]["machine_after"] = _machine()
    results["targets"] = report.targets(results)
    return results


def _verifiable_log(options: Options, console: Console) -> dict[str, Any]:
    """The proofs phase. Progress is drawn only between measurements (no refresh thread)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, auto_refresh=False) as progress:
        tasks: dict[str, TaskID] = {}

        def step(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=min(done, total), refresh=True)

        return tree_heads.measure(options.log_records, seed=options.seed, progress=step)


async def _loop(options: Options, console: Console, results: dict[str, Any]) -> None:
    """Every phase of the loop, on a fresh broker and the services."""
    workdir = Path(tempfile.mkdtemp(prefix="assist-bench-"))
    results["run"]["workdir"] = str(workdir)
    # A little in the past: intake refuses future dates, and every household shares this date.
    occurred_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    workload = Workload(options.seed, occurred_at)
    n = options.households
    ok = False
    try:
        with fresh_broker(workdir) as broker:
            results["run"]["broker"] = broker.bootstrap
            await _measure(options, console, results, workdir, broker, workload, n)
        ok = results.get("checks", {}).get("ok", not options.needs_services)
    finally:
        if ok and not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"work directory kept (service logs): {workdir}")


async def _measure(
    options: Options,
    console: Console,
    results: dict[str, Any],
    workdir: Path,
    broker: BenchBroker,
    workload: Workload,
    n: int,
) -> None:
    # The benchmark's own instruments (the baseline, the injector, the observer, the watches of
    # the chain) log in as the administrator; every service logs in as itself (bench/stack.py).
    kafka = broker.admin()
    await ensure_logins(kafka, broker.credentials)  # every principal's login, once
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    topics = TopicNames(namespace)
    results["run"]["namespace"] = namespace
    await ensure_topics(kafka, TopicSettings(namespace=namespace))  # with the namespace's grants
    with console.status("generating households (expected referrals from the domain rules)"):
        http_households = workload.take(n, "h")
        kafka_households = workload.take(n, "k")
    sizes = sorted(
        len(application_message(h, workload.occurred_at)[1]) for h in kafka_households[:500]
    )
    size = sizes[len(sizes) // 2]  # the median ApplicationReceived event
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        # Never fewer than RAW_MESSAGES: below that, a client's start and its first batches
        # weigh on the rate, unevenly between clients.
        raw = max(n, RAW_MESSAGES)
        measured: dict[str, Baseline] = {}
        for client, measure, suffix in (
            ("aiokafka", measure_baseline, "baseline"),
            (LIBRDKAFKA, measure_librdkafka, "baseline-librdkafka"),
        ):
            produced = progress.add_task(f"raw Kafka ({client}): produce {size} B", total=raw)
            consumed = progress.add_task(f"raw Kafka ({client}): consume", total=raw)
            measured[client] = await measure(
                kafka,
                f"{namespace}bench.{suffix}",
                raw,
                size,
                on_produced=lambda k, task=produced: progress.update(task, completed=k),
                on_consumed=lambda k, task=consumed: progress.update(task, completed=min(k, raw)),
            )
        baseline, librdkafka = measured["aiokafka"], measured[LIBRDKAFKA]
        results["baseline"] = baseline.as_dict()
        results["baseline_librdkafka"] = librdkafka.as_dict()
        results["raw_limit"] = _raw_limit(baseline, librdkafka)
        if "auth" not in options.skip:
            task = progress.add_task("authentication cost", total=None)

            def step(what: str) -> None:
                progress.update(task, description=f"authentication cost: {what}")

            results["auth"] = await auth_cost.measure(
                kafka, broker.login(auth_cost.PRINCIPAL), broker.open(), n, size, step
            )
            progress.update(task, total=1, completed=1)
        if "engines" not in options.skip:
            results["engines"] = await _engines(kafka, broker, workdir, workload, n, progress)
        if not options.needs_services:
            return
        profile = {s: RESULTS / f"profile-{s}.txt" for s in options.profile}
        stack = Stack(broker.login, namespace, workdir, profile, options.log_level)
        observer = Observer(kafka, namespace)
        task = progress.add_task("starting the services", total=None)
        stack.start()
        try:
            stack.wait_healthy()
            await observer.start()
            progress.update(task, total=1, completed=1)
            ctx = phases.Context(
                kafka,
                broker.login(AUDITOR),
                topics,
                stack,
                observer,
                role_tokens(stack.tokens_file),
                {t["user"]: t["token"] for t in read_tokens(stack.tokens_file)},
                progress,
                baseline,
                raw_produce_per_second=results["raw_limit"]["produce_per_second"],
                raw_consume_per_second=results["raw_limit"]["consume_per_second"],
                occurred_at=workload.occurred_at,
                concurrency=options.concurrency,
                pids={**stack.pids(), "kafka broker": broker.broker.pid},
            )
            everyone: list[Household] = []
            try:
                await _phases(
                    options, ctx, results, workload, http_households, kafka_households, everyone
                )
                if "restart" not in options.skip:
                    await stack.wait_idle()
                    results["restart"] = [await restart.measure(ctx, len(everyone))]
                if "impact" not in options.skip:
                    topped, results["impact_top_up"] = await policy_phases.top_up(
                        ctx, workload, len(everyone), options.impact_households
                    )
                    everyone += topped
                await stack.wait_idle()
                await observer.caught_up(await watched_ends(kafka, topics))
                verdict = check_deliveries(
                    {h.household_id: h.referrals for h in everyone},
                    observer.deliveries,
                    observer.dead_letters,
                )
                results["checks"] = {**asdict(verdict), "ok": verdict.ok}
                if verdict.ok and "audit" not in options.skip:
                    results["audit"] = await phases.audit(
                        ctx, everyone, options.audit_sample, options.seed
                    )
                if verdict.ok and "impact" not in options.skip:
                    results["impact"], results["rescreening"] = await policy_phases.measure(
                        ctx, everyone, _loop_throughput(results)
                    )
                if (
                    "restart" not in options.skip
                    and len(everyone) > results["restart"][0]["households"]
                ):
                    await stack.wait_idle()
                    results["restart"].append(await restart.measure(ctx, len(everyone)))
                    results["restart_slopes"] = restart.slopes(results["restart"])
            except BenchError as error:
                raise BenchError(f"{error}\n{stack.exits()}") from None
            results["memory_mib"] = {
                **stack.peak_rss(),
                "kafka broker (JVM)": peak_rss_mib(broker.broker.pid),
            }
        finally:
            await observer.stop()
            stack.stop()


async def _engines(
    kafka: KafkaSettings,
    broker: BenchBroker,
    workdir: Path,
    workload: Workload,
    n: int,
    progress: Progress,
) -> dict[str, Any]:
    """The chain writer on today's runtime and on Quix Streams (bench/engines.py): the same
    applications, `n` of them and at least ENGINE_EVENTS."""
    households = workload.take(max(n, ENGINE_EVENTS), "e")
    spare = workload.take(3, "s")
    task = progress.add_task("engines", total=None)

    def step(what: str) -> None:
        progress.update(task, description=f"engines: {what}")

    figures = await engines.measure(
        kafka,
        broker.login("chainwriter"),
        workdir,
        application_messages(households, workload.occurred_at),
        application_messages(spare, workload.occurred_at),
        step,
    )
    progress.update(task, total=1, completed=1, description="engines")
    return figures


def _raw_limit(aiokafka: Baseline, librdkafka: Baseline) -> dict[str, Any]:
    """The faster client each way: what the loop's writes and reads are measured against."""
    clients = {"aiokafka": aiokafka, LIBRDKAFKA: librdkafka}
    producer = max(clients, key=lambda name: clients[name].produce_per_second)
    consumer = max(clients, key=lambda name: clients[name].consume_per_second)
    return {
        "produce_per_second": clients[producer].produce_per_second,
        "producer": producer,
        "consume_per_second": clients[consumer].consume_per_second,
        "consumer": consumer,
    }


def _loop_throughput(results: dict[str, Any]) -> tuple[str, float] | None:
    """The loop's households/s the policy figures are compared with: via the topic, as
    measured in its own phase (else the top-up's, also via the topic, else via HTTP)."""
    for key in ("loop_kafka", "impact_top_up", "loop_http"):
        figures = results.get(key)
        if figures:
            return key, float(figures["households_per_second"])
    return None


async def _phases(
    options: Options,
    ctx: phases.Context,
    results: dict[str, Any],
    workload: Workload,
    http_households: list[Household],
    kafka_households: list[Household],
    everyone: list[Household],
) -> None:
    # Each phase starts on a loop at rest (the throughput phases end by waiting for it):
    # processors off the referral path (audit, feedback) would otherwise still be working.
    if "http" not in options.skip:
        results["loop_http"] = await phases.loop_http(ctx, http_households)
        everyone += http_households
    if "kafka" not in options.skip:
        results["loop_kafka"] = await phases.loop_kafka(ctx, kafka_households)
        everyone += kafka_households
        if "pairs" not in options.skip:
            households = workload.take(len(kafka_households), "p")
            results["loop_kafka_paired"] = await phases.loop_kafka_paired(
                ctx, households, SCALED_OUT, results["loop_kafka"]["households_per_second"]
            )
            everyone += households
    if "latency" in options.skip:
        return
    measured = results.get("loop_http", results.get("loop_kafka"))
    if measured is None:
        raise BenchError("the latency phase needs a measured throughput (http or kafka)")
    per_second = max(1.0, options.latency_load * measured["households_per_second"])
    count = max(100, int(per_second * options.latency_seconds))
    households = workload.take(count, "l")
    await ctx.stack.wait_idle()
    results["latency"] = await phases.latency(ctx, households, per_second)
    everyone += households
