"""Running a service as its own OS process, as production does, so tests can kill -9 it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.logins import logins_of


def _listening_ports() -> list[int]:
    """Ports below the kernel's ephemeral range, in a random order of this test process.

    A port bind(0) hands out is in the ephemeral range, the one outgoing connections take their
    source ports from: with a dozen services talking to Kafka, one of them took a service's port
    between the choice and the service's own bind ("address already in use").
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports = list(range(max(1024, low - 12000), low))
    random.shuffle(ports)
    return ports


_PORTS = iter(_listening_ports())


def free_port() -> int:
    for port in _PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use, or still in TIME_WAIT: the next one
                continue
            return port
    raise RuntimeError("no free port left below the ephemeral range")


class ServiceProcess:
    """`python -m services.<name>` with its own port, namespace and log file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {
            **os.environ,
            **env,
            f"ASSIST_{name.upper()}_PORT": str(self.port),
            "ASSIST_LOG_FORMAT": "json",
        }
        bootstrap = self.env.get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap and "KAFKA_SASL_USERNAME" not in env:
            # Each service logs in as itself (contracts/access.py), as it does in production.
            self.env |= logins_of(bootstrap).env(name)
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", f"services.{self.name}"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.name} not healthy after {timeout}s: {self.log_tail()}")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30, own_only: bool = False) -> str:
        """The last `lines` of the log; `own_only` leaves out the Kafka client's retry noise."""
        try:
            text = self.log_path.read_text().splitlines()
        except FileNotFoundError:
            return "(no log)"
        if own_only:
            text = [line for line in text if '"logger": "aiokafka' not in line]
        return "\n".join(text[-lines:])

    def dump_tasks(self) -> None:
        """Have the service log every asyncio task's stack (services/runtime/taskdump.py)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
