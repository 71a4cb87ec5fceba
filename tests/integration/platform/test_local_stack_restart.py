"""`make run` after a kill -9 starts the killed service again, however soon it is called.

A killed service stays a zombie (state Z, an empty command line) until whichever process
inherited it reaps it, which may be never; `deploy/local/stack.py` once took that for alive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from support.logins import Logins
from support.processes import free_port

from deploy.local import stack


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()[0]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # reaped already (subprocess's own cleanup)
        os.waitpid(pid, 0)


def test_a_zombie_is_dead_and_a_running_service_is_alive(tmp_path: Path) -> None:
    # A child that runs a moment and exits; this test, its parent, does not reap it.
    child = subprocess.Popen(  # noqa: S603 - this interpreter
        [sys.executable, "-c", "import time; time.sleep(1.0)  # services.fake"]
    )
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "fake.pid").write_text(f"{child.pid}\n")
    try:
        assert stack._alive(child.pid)  # noqa: SLF001
        assert stack.running_pid(tmp_path, "fake") == child.pid
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.05)
        assert Path(f"/proc/{child.pid}/cmdline").read_bytes() == b""  # what fooled the stack
        assert not stack._alive(child.pid)  # noqa: SLF001
        assert stack.running_pid(tmp_path, "fake") is None
    finally:
        child.wait()
    assert not stack._alive(child.pid)  # noqa: SLF001 - reaped: gone
    # A live process of another program (a recycled pid) is not one of our services.
    other = subprocess.Popen(["sleep", "5"])  # noqa: S607
    try:
        assert not stack._alive(other.pid)  # noqa: SLF001
    finally:
        other.kill()
        other.wait()


@pytest.mark.timeout(420)
def test_kill_9_then_up_at_once_restarts_the_service(
    kafka_bootstrap: str, logins: Logins, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSIST_TOPIC_NAMESPACE", f"r{uuid.uuid4().hex[:8]}.")
    monkeypatch.setenv("ASSIST_CHAINWRITER_PORT", str(free_port()))
    # One service is enough: `up` treats each alike.
    monkeypatch.setattr(
        stack, "SERVICES", tuple(s for s in stack.SERVICES if s.name == "chainwriter")
    )
    data = tmp_path / "var"
    killed: list[int] = []
    try:
        assert stack.up(data, kafka_bootstrap, timeout=120, credentials=logins.credentials) == 0
        for _ in range(3):
            pid = stack.running_pid(data, "chainwriter")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            # No wait at all: the killed process may still be running, on its way out, or a
            # zombie nobody reaps (this test is its parent and does not).
            assert stack.up(data, kafka_bootstrap, timeout=120, credentials=logins.credentials) == 0
            again = stack.running_pid(data, "chainwriter")
            assert again is not None and again not in killed
            # Gone, or a zombie until subprocess's own clean-up reaps it at the next start.
            assert not Path(f"/proc/{pid}").exists() or _state(pid) in {"Z", "X"}
    finally:
        stack.down(data)
        for pid in killed:
            _reap(pid)
    assert stack.running_pid(data, "chainwriter") is None
