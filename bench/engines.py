"""The engine phase: the chain writer on today's runtime and on Quix Streams, side by side.

Each engine gets a topic namespace of its own on the benchmark's broker and the same work:
the same ApplicationReceived events of N households on its `assist.events`. For each, in turn
(never both at once):

1. **start**: the process is started on an empty input; one event (a household of its own) is
   produced and the time until its chain record is readable is the start time;
2. **throughput**: the N events are produced; CPU seconds of the process and wall time from the
   first send until the last chain record is readable (read_committed, counted by a watcher);
3. **restart**: SIGTERM, then a new process; one new event; the time from the new process's
   start until that event's record is readable. Today's chain writer rebuilds its heads from
   the whole chain at every start; Quix Streams reopens its RocksDB store;
4. for Quix Streams, **restart on a fresh disk**: the same, with its state directory deleted
   first, so the store is restored from its changelog topic (a reassigned partition, a new
   machine);
5. **check**: every chain record read back: each household's chain gap-free, hash-linked and
   signed by the writer's key, every event chained exactly once.

Today's chain writer is the service itself (`python -m services.chainwriter`, logged in as
`chainwriter`); the Quix Streams one is bench/quix_spike/chainwriter.py, run in an environment
of its own (`.venv-quix`, made from bench/quix_spike/requirements.lock on first use) as the
administrator (it creates its changelog topic).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.baseline import create_topic
from bench.injector import Message, inject
from bench.stack import BenchError, free_port, stop_process
from bench.usage import cpu_seconds, peak_rss_mib
from contracts.topics import TopicNames
from events.chain import verify_chain
from services.chainwriter.signing_key import ensure_writer_key
from services.runtime.kafka import make_consumer, partitions_of
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics
from services.runtime.writer_signature import PRIVATE_FILE, signed_by_writer, writer_key_dir

ROOT = Path(__file__).resolve().parents[1]
QUIX_LOCK = ROOT / "bench" / "quix_spike" / "requirements.lock"
QUIX_VENV = ROOT / ".venv-quix"
Step = Callable[[str], None]


def quix_python(step: Step) -> Path:
    """The interpreter of the Quix Streams environment, made (or re-made when its lock file
    changed) on first use."""
    python = QUIX_VENV / "bin" / "python"
    stamp = QUIX_VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == QUIX_LOCK.read_text():
        return python
    step("installing Quix Streams in .venv-quix (once)")
    shutil.rmtree(QUIX_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(QUIX_VENV)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603 - our interpreter, our pinned list
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["-r", str(QUIX_LOCK)],
        check=True,
        cwd=QUIX_VENV,  # not the repository: pip would take the project's metadata for installed
    )
    stamp.write_text(QUIX_LOCK.read_text())
    return python


@dataclass
class Engine:
    """How to start one engine's chain writer, and where its chain goes."""

    name: str
    command: list[str]
    env: dict[str, str]
    input_topic: str
    chain_topic: str
    state_dir: Path | None = None  # Quix Streams' local store (deleted for a fresh disk)


class _ChainWatch:
    """Counts the records of a chain topic as they become readable (read_committed)."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.records: list[tuple[bytes, tuple[tuple[str, bytes], ...]]] = []
        self._consumer = make_consumer(kafka, group_id=None)
        self._topic = topic
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        partitions = await partitions_of(self._consumer, self._topic)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            for batch in batches.values():
                self.records += [(r.value, tuple(r.headers or ())) for r in batch]

    async def until(self, count: int, timeout: float, writer: _Process) -> float:
        """Wait until `count` records are readable (the writer still running); the monotonic
        time it happened."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count:
            writer.check()
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{writer.engine.name}: {self._topic} has {len(self.records)} of {count} "
                    f"records after {timeout:.0f} s"
                )
            await asyncio.sleep(0.01)
        return time.monotonic()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


class _Process:
    def __init__(self, engine: Engine, log: Path) -> None:
        self.engine, self._log = engine, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        with self._log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreters, our modules
                self.engine.command,
                env=self.engine.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
            )
        return time.monotonic()

    def check(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self._log.read_text(errors="replace").splitlines()[-20:]
            raise BenchError(
                f"{self.engine.name} exited ({self.process.returncode}):\n" + "\n".join(tail)
            )

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 60)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


async def _one_more(
    kafka: KafkaSettings,
    engine: Engine,
    watch: _ChainWatch,
    process: _Process,
    message: Message,
    started: float,
    timeout: float,
) -> float:
    """Produce `message` and wait for its chain record: seconds since `started`."""
    expected = len(watch.records) + 1
    await inject(kafka, engine.input_topic, [message])
    return await watch.until(expected, timeout, process) - started


async def run_engine(
    kafka: KafkaSettings,
    engine: Engine,
    work: Sequence[Message],
    spare: Sequence[Message],
    public_key: Any,
    workdir: Path,
    step: Step,
) -> dict[str, Any]:
    """Start, throughput, restart(s) and the check, for one engine (module docstring)."""
    watch = _ChainWatch(kafka, engine.chain_topic)
    await watch.start()
    process = _Process(engine, workdir / f"{engine.name}.log")
    figures: dict[str, Any] = {"events": len(work)}
    timeout = max(120.0, len(work) / 50)
    try:
        step(f"{engine.name}: start")
        started = process.start()
        figures["start_seconds"] = round(
            await _one_more(kafka, engine, watch, process, spare[0], started, timeout), 2
        )
        step(f"{engine.name}: {len(work)} events")
        cpu_before, before = cpu_seconds(process.pid) or 0.0, len(watch.records)
        first = time.monotonic()
        await inject(kafka, engine.input_topic, work)
        done = await watch.until(before + len(work), timeout, process)
        cpu = (cpu_seconds(process.pid) or 0.0) - cpu_before
        figures |= {
            "events_per_second": round(len(work) / (done - first), 1),
            "cpu_ms_per_event": round(cpu * 1000 / len(work), 3),
            "peak_rss_mib": peak_rss_mib(process.pid),
        }
        step(f"{engine.name}: restart")
        process.stop()
        started = process.start()
        figures["restart_seconds"] = round(
            await _one_more(kafka, engine, watch, process, spare[1], started, timeout), 2
        )
        figures["peak_rss_mib_after_restart"] = peak_rss_mib(process.pid)
        if engine.state_dir is not None:
            step(f"{engine.name}: restart on a fresh disk (store from its changelog)")
            process.stop()
            shutil.rmtree(engine.state_dir, ignore_errors=True)
            started = process.start()
            figures["restart_fresh_disk_seconds"] = round(
                await _one_more(kafka, engine, watch, process, spare[2], started, timeout), 2
            )
        process.stop()
    finally:
        process.stop()
        await watch.stop()
    figures["check"] = check_chains(watch.records, public_key)
    return figures


def check_chains(
    records: Sequence[tuple[bytes, tuple[tuple[str, bytes], ...]]], public_key: Any
) -> dict[str, Any]:
    """Every household's chain gap-free, linked and signed; every event chained once."""
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unsigned = 0
    for value, headers in records:
        document = json.loads(value)
        chains[document["household_id"]].append(document)
        unsigned += not signed_by_writer(public_key, document["hash"], headers)
    ids = [d["event_id"] for chain in chains.values() for d in chain]
    broken = [
        household
        for household, chain in chains.items()
        if [d["sequence"] for d in chain] != list(range(1, len(chain) + 1))
        or not verify_chain(chain).valid
    ]
    return {
        "records": len(records),
        "households": len(chains),
        "duplicates": len(ids) - len(set(ids)),
        "broken_chains": broken[:10],
        "unsigned": unsigned,
        "ok": not broken and not unsigned and len(ids) == len(set(ids)),
    }


async def measure(
    admin: KafkaSettings,
    chainwriter_login: KafkaSettings,
    workdir: Path,
    work: Sequence[Message],
    spare: Sequence[Message],
    step: Step,
) -> dict[str, Any]:
    """Both engines, one after the other; `spare` holds three messages of other households."""
    data = workdir / "engines"
    data.mkdir(parents=True, exist_ok=True)
    public_key = ensure_writer_key(data).public
    python = quix_python(step)
    today = TopicNames(f"eng{uuid.uuid4().hex[:6]}.")
    quix = TopicNames(f"eng{uuid.uuid4().hex[:6]}.")
    for names in (today, quix):
        await ensure_topics(admin, TopicSettings(namespace=names.namespace))
    quix_chain = f"{quix.namespace}spike.chain"
    await create_topic(admin, quix_chain, partitions=6)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "ASSIST_"))}
    engines = [
        Engine(
            "aiokafka runtime (today)",
            [sys.executable, "-m", "services.chainwriter"],
            {
                **base,
                **chainwriter_login.environment(),
                "ASSIST_TOPIC_NAMESPACE": today.namespace,
                "ASSIST_DATA_DIR": str(data),
                "ASSIST_LOG_LEVEL": "WARNING",
                "ASSIST_CHAINWRITER_PORT": str(free_port()),
            },
            today.events,
            today.chain,
        ),
        Engine(
            "Quix Streams",
            [
                str(python),
                "-m",
                "bench.quix_spike.chainwriter",
                "--input",
                quix.events,
                "--output",
                quix_chain,
                "--group",
                f"{quix.namespace}spike.chainwriter",
                "--state-dir",
                str(data / "quix-state"),
                "--key",
                str(writer_key_dir(data) / PRIVATE_FILE),
            ],
            {**base, **admin.environment(), "PYTHONPATH": str(ROOT)},
            quix.events,
            quix_chain,
            data / "quix-state",
        ),
    ]
    results = {}
    for engine in engines:
        results[engine.name] = await run_engine(admin, engine, work, spare, public_key, data, step)
    return results
