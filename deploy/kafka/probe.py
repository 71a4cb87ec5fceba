"""OS and wire probes for kafkactl: processes, ports, a Kafka ApiVersions call."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
from collections import deque
from pathlib import Path

HOST = "127.0.0.1"


def _describe(pid: int) -> tuple[str, str] | None:
    """(state, command line) of pid, or None when the OS will not say."""
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():  # Linux
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            return state, argv.decode(errors="replace")
        except (OSError, IndexError):
            return None
    try:  # macOS and other Unixes
        out = subprocess.run(  # noqa: S603
            ["ps", "-o", "stat=,command=", "-p", str(pid)],  # noqa: S607 - ps from PATH
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    state, _, command = out.partition(" ")
    return (state[:1], command) if out else None


def pid_alive(pid: int, must_contain: str | None = None) -> bool:
    """pid runs, is not a zombie, and (if given) its command line contains must_contain.

    The check on the command line stops a recycled pid from being taken for the broker.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, but belongs to another user
    described = _describe(pid)
    if described is None:
        return True
    state, command = described
    if state == "Z":
        return False
    # Empty right after fork/exec (Popen can return mid-exec): unknown, so trust the pid.
    return must_contain is None or not command or must_contain in command


def signal_pid(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def port_open(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_ports(count: int, exclude: set[int] | None = None) -> list[int]:
    """Ports the OS reports free now; all sockets are held at once so they differ."""
    held: list[socket.socket] = []
    try:
        ports: list[int] = []
        while len(ports) < count:
            sock = socket.socket()
            held.append(sock)
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
            if port not in (exclude or set()):
                ports.append(port)
        return ports
    finally:
        for sock in held:
            sock.close()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def api_versions_ok(port: int, timeout: float = 2.0) -> bool:
    """The broker answers an ApiVersions v0 request without error: it serves requests.

    v0 is the one version every broker must accept, since clients send it
    before they know anything else.
    """
    client_id = b"kafkactl"
    correlation_id = 0x4B41
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            got_id, error_code = struct.unpack(">ih", _recv_exact(sock, size)[:6])
    except (OSError, struct.error):  # refused, reset, closed early, short reply
        return False
    return bool(got_id == correlation_id and error_code == 0)


def tail(path: Path, lines: int) -> str:
    try:
        with path.open(errors="replace") as f:
            return "".join(deque(f, maxlen=lines))
    except FileNotFoundError:
        return ""
