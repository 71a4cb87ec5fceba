"""The services under test, each its own OS process on the benchmark's broker and namespace.

Started like deploy/local/stack.py starts them (`python -m services.<name>`), on free ports, with
their logs in the run's work directory, each logged in to the broker as its own principal (never
as the administrator; no KAFKA_* of the benchmark's environment reaches them). The operator
console is not part of the loop and is not started.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.usage import peak_rss_mib
from deploy.local.stack import LOOP_SERVICES
from deploy.local.tokens import ensure_tokens, token_of
from services.chainwriter.signing_key import ensure_writer_key
from services.runtime.settings import KafkaSettings

Login = Callable[[str], KafkaSettings]  # principal -> its login on the benchmark's broker


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, as a supervisor stops it; SIGKILL if it has not ended within `timeout`."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Stack:
    def __init__(
        self,
        login: Login,
        namespace: str,
        workdir: Path,
        profile: dict[str, Path] | None = None,
        log_level: str = "INFO",
    ) -> None:
        self.workdir = workdir
        self.tokens_file = ensure_tokens(workdir / "tokens.json")
        ensure_writer_key(workdir / "data")  # the audit checks every append's signature
        self.ports = {name: free_port() for name in LOOP_SERVICES}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Second instances running beside the first: "<service>-2" -> the service.
        self.partners: dict[str, str] = {}
        self._login = login
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")},
            "ASSIST_TOPIC_NAMESPACE": namespace,
            "ASSIST_TOKENS_FILE": str(self.tokens_file),
            "ASSIST_DATA_DIR": str(workdir / "data"),
            "ASSIST_LOG_FORMAT": "json",
            "ASSIST_LOG_LEVEL": log_level,
            # Time moves only when the benchmark advances it: a policy version's effective
            # date is reached on demand, and nothing else (overdue notices, reviews) fires.
            "ASSIST_CLOCK": "manual",
        }
        self._profile = profile or {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def log_path(self, service: str) -> Path:
        return self.workdir / "log" / f"{service}.log"

    @property
    def names(self) -> list[str]:
        """Every running instance: the services, then their partners."""
        return [*LOOP_SERVICES, *self.partners]

    def start(self) -> None:
        (self.workdir / "log").mkdir(parents=True, exist_ok=True)
        for name in LOOP_SERVICES:
            self._spawn(name)

    def add_partners(self, services: tuple[str, ...]) -> None:
        """A second instance of each of `services` ("<service>-2"), sharing its processor's
        partitions with the first: its own data directory, with the chain writer's key."""
        data = self.workdir / "instance-2" / "data"
        shutil.copytree(
            self.workdir / "data" / "chainwriter", data / "chainwriter", dirs_exist_ok=True
        )
        for service in services:
            partner = f"{service}-2"
            self.partners[partner] = service
            self.ports[partner] = free_port()
            self._spawn(partner, {"ASSIST_INSTANCE": "2", "ASSIST_DATA_DIR": str(data)})

    def remove_partners(self, timeout: float = 30) -> None:
        """Stop the second instances (SIGTERM: each leaves its group, the first takes all)."""
        for partner in list(self.partners):
            stop_process(self.processes.pop(partner), timeout)
            del self.partners[partner], self.ports[partner]

    def _spawn(self, name: str, extra: dict[str, str] | None = None) -> None:
        service = self.partners.get(name, name)
        env = {
            **self._env,
            # Its own principal's login (contracts/access.py): the broker's ACLs apply.
            **self._login(service).environment(),
            f"ASSIST_{service.upper()}_PORT": str(self.ports[name]),
            **(extra or {}),
        }
        if name in self._profile:
            env["ASSIST_PROFILE"] = str(self._profile[name])
        with self.log_path(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                [sys.executable, "-m", f"services.{service}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C reaches the benchmark, which stops them in order.
                start_new_session=True,
            )

    def restart(self, name: str, timeout: float) -> float:
        """Stop one service (SIGTERM, as a supervisor does), start it again, and wait until
        its /healthz says ready (every processor caught up); seconds from the new process's
        start to that answer."""
        stop_process(self.processes[name], 30)
        started = time.monotonic()
        self._spawn(name)
        deadline = started + timeout
        while True:
            self._check_alive(name)
            try:
                if httpx.get(f"{self.url(name)}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{name} not healthy {timeout:.0f}s after its restart\n{self.log_tail(name)}"
                )
            time.sleep(0.1)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(self.names)
        while waiting:
            for name in sorted(waiting):
                self._check_alive(name)
                try:
                    if httpx.get(f"{self.url(name)}/healthz", timeout=2).status_code == 200:
                        waiting.discard(name)
                except httpx.HTTPError:
                    pass
            if waiting and time.monotonic() > deadline:
                names = ", ".join(sorted(waiting))
                raise BenchError(
                    f"not healthy after {timeout:.0f}s: {names}\n"
                    + "\n".join(self.log_tail(n) for n in sorted(waiting))
                )
            time.sleep(0.3)

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            raise BenchError(
                f"{name} exited with status {process.returncode}:\n{self.log_tail(name)}"
            )

    def check_alive(self) -> None:
        for name in self.names:
            self._check_alive(name)

    def exits(self) -> str:
        """Which services are no longer running, and how they ended (for an error message)."""
        ended = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if not ended:
            return "every service still runs"
        how = {
            n: f"killed by signal {-code}" if code < 0 else f"exit status {code}"
            for n, code in ended.items()
        }
        return "ended: " + ", ".join(f"{n} ({h})" for n, h in how.items())

    async def health(self, client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
        """Every service's /healthz report (200 or 503 alike), in full: as an operator."""
        operator = token_of(self.tokens_file, "operator")
        headers = {"Authorization": f"Bearer {operator}"}
        names = self.names
        replies = await asyncio.gather(
            *(
                client.get(f"{self.url(name)}/healthz", timeout=10, headers=headers)
                for name in names
            )
        )
        return {name: reply.json() for name, reply in zip(names, replies, strict=True)}

    async def wait_shared(self, timeout: float = 120) -> None:
        """Until each service with a partner and the partner hold every task between them,
        each some (a processor's /healthz says which)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                reports = await self.health(client)
                held = {
                    name: [t for p in reports[name]["processors"] for t in (p["tasks"] or [])]
                    for name in self.names
                }
                counts = {
                    name: {p["task_count"] for p in reports[name]["processors"]}
                    for name in self.names
                }
                if all(
                    held[partner]
                    and held[service]
                    and counts[service] == counts[partner]
                    and sorted(held[service] + held[partner]) == list(range(max(counts[service])))
                    for partner, service in self.partners.items()
                ):
                    return
                if time.monotonic() > deadline:
                    raise BenchError(f"the instances never shared their tasks: {held}")
                await asyncio.sleep(0.5)

    async def wait_idle(
        self,
        timeout: float = 300,
        settle: float = 2.5,
        on_lag: Callable[[int], None] | None = None,
    ) -> None:
        """Until every processor has no lag and consumed nothing new for `settle` seconds;
        `on_lag` hears the processors' total lag at each look."""
        deadline = time.monotonic() + timeout
        previous: dict[str, int] | None = None
        async with httpx.AsyncClient() as client:
            while True:
                self.check_alive()
                try:
                    reports = await self.health(client)
                except httpx.HTTPError:  # a service too busy to answer in time: ask again
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(settle)
                    continue
                processors = [p for r in reports.values() for p in r["processors"]]
                consumed = {p["name"]: p["consumed"] for p in processors}
                if on_lag is not None:
                    on_lag(sum(p["lag"] or 0 for p in processors))
                if all(p["lag"] == 0 for p in processors) and consumed == previous:
                    return
                previous = consumed
                if time.monotonic() > deadline:
                    lagging = {p["name"]: p["lag"] for p in processors if p["lag"]}
                    raise BenchError(f"the loop did not come to rest in {timeout:.0f}s: {lagging}")
                await asyncio.sleep(settle)

    def peak_rss(self) -> dict[str, float | None]:
        """Each service's peak resident memory (MiB), read while it still runs."""
        return {name: peak_rss_mib(p.pid) for name, p in self.processes.items()}

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items()}

    def stop(self, timeout: float = 30) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            stop_process(process, max(0.1, deadline - time.monotonic()))

    def log_tail(self, name: str, lines: int = 25) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            return f"--- {name}: no log"
        return f"--- {name} ({self.log_path(name)}):\n" + "\n".join(text)
