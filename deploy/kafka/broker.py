"""Start, find and stop the single-node KRaft broker of one data directory.

Layout of a data dir: server.properties (rendered from the template),
credentials.json (principals' SCRAM passwords, mode 0600), cluster.id,
broker.json (ports), kafka.pid, kafka-logs/ (the data), logs/server.log
(broker log), logs/kafka.out (JVM stdout/stderr).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template

from deploy.kafka.credentials import ADMIN, credentials_file, ensure_credentials
from deploy.kafka.jars import KAFKA_VERSION, fetch_jars, java_binary
from deploy.kafka.probe import (
    api_versions_ok,
    free_ports,
    pid_alive,
    port_open,
    signal_pid,
    tail,
)
from deploy.kafka.quorum import ClusterNode, as_cluster_node
from services.runtime.limits import broker_properties

HERE = Path(__file__).resolve().parent
READY_LINE = "Kafka Server started"
JVM_OPTS = [
    "-Xms512m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-Djava.awt.headless=true",
]

# Started by this process: reaped through Popen so a dead broker is not
# mistaken for a live zombie while a long test session keeps running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_EXIT_CODES: dict[int, int] = {}


class BrokerError(RuntimeError):
    """The broker could not be started or stopped."""


@dataclass(frozen=True)
class Broker:
    """A running broker: where clients connect, with which credentials, and where to look when
    it misbehaves."""

    pid: int
    bootstrap: str
    data_dir: Path
    log_file: Path
    port: int
    controller_port: int
    credentials_file: Path
    security_protocol: str = "SASL_PLAINTEXT"


@dataclass(frozen=True)
class _Paths:
    """Where each piece of one data dir lives."""

    root: Path
    props: Path
    pid: Path
    ports: Path
    cluster_id: Path
    lock: Path
    logs: Path
    server_log: Path
    stdout: Path
    meta: Path
    credentials: Path


def _paths(data_dir: Path | str) -> _Paths:
    root = Path(data_dir).resolve()
    logs = root / "logs"
    return _Paths(
        root=root,
        props=root / "server.properties",
        pid=root / "kafka.pid",
        ports=root / "broker.json",
        cluster_id=root / "cluster.id",
        lock=root / "kafkactl.lock",
        logs=logs,
        server_log=logs / "server.log",
        stdout=logs / "kafka.out",
        meta=root / "kafka-logs" / "meta.properties",
        credentials=credentials_file(root),
    )


@contextmanager
def _locked(paths: _Paths) -> Iterator[None]:
    """One up/down at a time per data dir: two racing `up`s must not both start a JVM."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.lock.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _EXIT_CODES[pid] = _CHILDREN.pop(pid).returncode
        return False
    return pid_alive(pid, must_contain="kafka.Kafka")


def _read_pid(paths: _Paths) -> int | None:
    try:
        return int(paths.pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _read_ports(paths: _Paths) -> tuple[int, int] | None:
    try:
        saved = json.loads(paths.ports.read_text())
        return int(saved["port"]), int(saved["controller_port"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def broker_pid(data_dir: Path | str) -> int | None:
    """pid of the data_dir's broker process if it lives, ready or not."""
    pid = _read_pid(_paths(data_dir))
    return pid if pid is not None and _alive(pid) else None


def saved_ports(data_dir: Path | str) -> tuple[int, int] | None:
    """(port, controller_port) last used with data_dir, if any."""
    return _read_ports(_paths(data_dir))


def _broker(paths: _Paths, pid: int, port: int, cport: int) -> Broker:
    return Broker(
        pid, f"127.0.0.1:{port}", paths.root, paths.server_log, port, cport, paths.credentials
    )


def broker_status(data_dir: Path | str) -> Broker | None:
    """The running broker of data_dir, or None if none is running."""
    paths = _paths(data_dir)
    pid, ports = _read_pid(paths), _read_ports(paths)
    if pid is None or ports is None or not _alive(pid) or not port_open(ports[0]):
        return None
    return _broker(paths, pid, *ports)


def _choose_ports(paths: _Paths, port: int, controller_port: int) -> tuple[int, int]:
    """0 means "any free port"; a restart keeps its old ports while they are free."""
    saved = _read_ports(paths)
    if saved is not None:
        wanted = (port or saved[0], controller_port or saved[1])
        if wanted == saved and not any(port_open(p) for p in saved):
            return saved
    if port and controller_port:
        return port, controller_port
    picked = iter(free_ports(2, exclude={port, controller_port}))
    return port or next(picked), controller_port or next(picked)


def _java(paths: _Paths, libs: Path, heap: list[str], *main_and_args: str) -> list[str]:
    log4j = HERE / "log4j2.properties"
    return [
        java_binary(),
        *heap,
        f"-Dkafka.logs.dir={paths.logs}",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",  # java expands the wildcard itself; no shell involved
        *main_and_args,
    ]


def _format_storage(paths: _Paths, libs: Path, admin_password: str, standalone: bool) -> None:
    """Format once, with the administrator's SCRAM credential (the other principals are made
    by the administrator); the cluster id is kept so a re-format reuses the same id (a cluster
    writes the same id into each node's directory before its first start)."""
    if paths.meta.exists():
        return
    tool = ("kafka.tools.StorageTool",)
    small = ["-Xmx256m"]
    log = paths.logs / "storage.log"
    with log.open("a") as out:
        if not paths.cluster_id.exists():
            cmd = _java(paths, libs, small, *tool, "random-uuid")
            made = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
            out.write(made.stdout + made.stderr)
            out.flush()  # before the next tool appends to the same file
            if made.returncode != 0 or not made.stdout.strip():
                raise BrokerError(f"StorageTool random-uuid failed:\n{made.stderr}")
            paths.cluster_id.write_text(made.stdout.strip().splitlines()[-1] + "\n")
        cid = paths.cluster_id.read_text().strip()
        # --standalone: this node alone is the initial controller quorum (KIP-853); a cluster's
        # nodes name every controller in their configuration instead (a static quorum).
        args = ["format", *(["--standalone"] if standalone else []), "-t", cid]
        args += ["-c", str(paths.props)]
        args += ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]"]
        cmd = _java(paths, libs, small, *tool, *args, "--ignore-formatted")
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BrokerError(f"storage format failed:\n{tail(log, 20)}")


def _last_lines(paths: _Paths) -> str:
    text = tail(paths.server_log, 40)
    jvm = tail(paths.stdout, 15)
    return text + (f"\n--- {paths.stdout} ---\n{jvm}" if jvm.strip() else "")


def _log_has(log: Path, needle: str, offset: int) -> bool:
    try:
        with log.open("rb") as f:
            f.seek(offset if offset <= log.stat().st_size else 0)  # 0: rolled over
            return needle.encode() in f.read()
    except FileNotFoundError:
        return False


def _wait_ready(paths: _Paths, pid: int, port: int, offset: int, timeout: float) -> None:
    """Ready = the log says started (after offset) and ApiVersions gets an answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            code = _EXIT_CODES.get(pid)
            how = "" if code is None else f" (exit status {code})"  # negative: signal
            raise BrokerError(
                f"broker exited during start-up{how}; last log lines:\n{_last_lines(paths)}"
            )
        if api_versions_ok(port) and _log_has(paths.server_log, READY_LINE, offset):
            return
        time.sleep(0.25)
    raise BrokerError(
        f"broker (pid {pid}) not ready after {timeout:.0f} s; last log lines:\n{_last_lines(paths)}"
    )


def _admin_password(paths: _Paths) -> str:
    """The administrator's password, made up at the first start. A data dir formatted before
    the broker had authentication has no administrator: say so rather than start one nobody
    can log in to."""
    if paths.meta.exists() and not paths.credentials.exists():
        raise BrokerError(
            f"{paths.root} was formatted without authentication (no {paths.credentials.name}): "
            f"stop the broker and remove {paths.root} (make clean) to start one with it"
        )
    return ensure_credentials(paths.credentials, [ADMIN])[ADMIN]


def _with_open_listener(text: str, open_port: int) -> str:
    """The same broker with one more listener, without authentication, whose anonymous clients
    may do anything: only for measuring what authentication costs (make bench), never for data
    anyone else may reach."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("listeners=", "advertised.listeners=")):
            line += f",OPEN://127.0.0.1:{open_port}"
        elif line.startswith("listener.security.protocol.map="):
            line += ",OPEN:PLAINTEXT"
        elif line.startswith("super.users="):
            line += ";User:ANONYMOUS"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _write_config(
    paths: _Paths,
    port: int,
    controller_port: int,
    admin_password: str,
    open_port: int | None,
    node: ClusterNode | None,
) -> None:
    template = Template((HERE / "server.properties.template").read_text())
    text = template.substitute(
        port=port,
        controller_port=controller_port,
        data_dir=paths.root,
        admin_password=admin_password,
        **broker_properties(),
    )
    if open_port is not None:
        text = _with_open_listener(text, open_port)
    if node is not None:
        text = as_cluster_node(text, node)
    # It holds the administrator's password: readable by its owner only, like credentials.json.
    descriptor = os.open(paths.props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.chmod(paths.props, 0o600)  # an older copy may have been made readable by others
    ports = {
        "port": port,
        "controller_port": controller_port,
        "bootstrap": f"127.0.0.1:{port}",
        "security_protocol": "SASL_PLAINTEXT",
        "credentials": str(paths.credentials),
        "kafka_version": KAFKA_VERSION,
    }
    paths.ports.write_text(json.dumps(ports) + "\n")


def start_broker(
    data_dir: Path | str,
    port: int = 0,
    controller_port: int = 0,
    timeout: float = 90,
    open_port: int | None = None,
    node: ClusterNode | None = None,
) -> Broker:
    """Start (or find) the broker of data_dir and wait until it serves requests.

    `open_port`: also listen there without authentication (the benchmark's comparison only).
    `node`: one node of a cluster (deploy/kafka/cluster.py), which is ready only once a
    majority of its controllers runs.
    """
    paths = _paths(data_dir)
    java_binary()  # fail on a missing java before touching data_dir
    with _locked(paths):
        pid = _read_pid(paths)
        if pid is not None and _alive(pid):
            ports = _read_ports(paths)
            if ports is None:
                raise BrokerError(f"broker pid {pid} runs but {paths.ports} is missing")
            _wait_ready(paths, pid, ports[0], 0, timeout)
            return _broker(paths, pid, *ports)
        paths.pid.unlink(missing_ok=True)
        return _start(paths, port, controller_port, timeout, open_port, node)


def _start(
    paths: _Paths,
    port: int,
    controller_port: int,
    timeout: float,
    open_port: int | None,
    node: ClusterNode | None,
) -> Broker:
    libs = fetch_jars()
    paths.logs.mkdir(parents=True, exist_ok=True)
    port, controller_port = _choose_ports(paths, port, controller_port)
    if busy := [p for p in (port, controller_port) if port_open(p)]:
        raise BrokerError(f"port(s) {busy} already in use on 127.0.0.1")
    admin_password = _admin_password(paths)
    _write_config(paths, port, controller_port, admin_password, open_port, node)
    _format_storage(paths, libs, admin_password, standalone=node is None)
    offset = paths.server_log.stat().st_size if paths.server_log.exists() else 0
    cmd = _java(paths, libs, JVM_OPTS, "kafka.Kafka", str(paths.props))
    with paths.stdout.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this process and its Ctrl-C
        )
    _CHILDREN[proc.pid] = proc
    paths.pid.write_text(f"{proc.pid}\n")
    try:
        _wait_ready(paths, proc.pid, port, offset, timeout)
    except BaseException as err:  # incl. Ctrl-C: never leave a half-started JVM
        _stop_pid(proc.pid, grace=10)
        paths.pid.unlink(missing_ok=True)
        if isinstance(err, BrokerError):
            raise BrokerError(f"{err}\n(kafkactl stopped the half-started broker)") from None
        raise
    return _broker(paths, proc.pid, port, controller_port)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop_pid(pid: int, grace: float) -> None:
    signal_pid(pid, signal.SIGTERM)  # controlled shutdown: no log recovery next start
    if not _wait_gone(pid, grace):
        signal_pid(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10):
            raise BrokerError(f"broker pid {pid} survived SIGKILL")


def stop_broker(data_dir: Path | str, grace: float = 30) -> None:
    """SIGTERM the broker, SIGKILL it after `grace` seconds; no-op if none runs."""
    paths = _paths(data_dir)
    if not paths.root.is_dir():
        return
    with _locked(paths):
        pid = _read_pid(paths)
        if pid is not None and _alive(pid):
            _stop_pid(pid, grace)
        paths.pid.unlink(missing_ok=True)
