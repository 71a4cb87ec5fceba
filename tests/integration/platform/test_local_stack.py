"""`make run` then `make down`, for real: the demo flows and no process is left behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.processes import free_port


def processes_using(data_dir: Path) -> list[int]:
    """Pids whose environment or command line names `data_dir` (services and the broker)."""
    marker = str(data_dir.resolve()).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (
                marker in (proc / "environ").read_bytes()
                or marker in (proc / "cmdline").read_bytes()
            ):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.timeout(420)
def test_make_run_feeds_the_demo_and_make_down_leaves_nothing(
    tmp_path: Path, repo_root: Path
) -> None:
    data_dir = tmp_path / "var"
    names = (
        "intake",
        "identification",
        "classification",
        "feedback",
        "referral",
        "chainwriter",
        "audit",
        "operations",
        "scheduler",
        "policy",
    )
    ports = {f"ASSIST_{name.upper()}_PORT": str(free_port()) for name in names}
    env = {**os.environ, **ports, "DATA": str(data_dir)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    make = [
        "make",
        f"DATA={data_dir}",
        f"KAFKA_PORT={free_port()}",
        f"KAFKA_CONTROLLER_PORT={free_port()}",
    ]
    try:
        run = subprocess.run(
            [*make, "run"],
            cwd=repo_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "bearer tokens" in run.stdout and "tokens.json" in run.stdout
        assert "Kafka logins" in run.stdout and "kafka/credentials.json" in run.stdout
        assert "ReferralIssued" in run.stdout and "ChainSettled" not in run.stderr
        assert "demo done" in run.stdout
        # A department over Kafka with its own login: it answers on its own topic, and the
        # broker refuses it another department's.
        assert "logged in as department.medical_security" in run.stdout, run.stdout[-3000:]
        assert "\n  its own topic: answered R-" in run.stdout, run.stdout[-3000:]
        [refused] = [line for line in run.stdout.splitlines() if "housing's topic" in line]
        assert "AuthorizationFailed" in refused, refused
        # The demo's time passing: a version proposed, approved by another user, in effect,
        # and the child's birthday, each re-screening households on the manual clock.
        assert "approved by policy.liu: 200" in run.stdout, run.stdout[-3000:]
        assert "RescreeningDue" in run.stdout and "ReferralWithdrawn" in run.stdout
        status = subprocess.run(
            [*make, "status"],
            cwd=repo_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0, status.stdout
        assert processes_using(data_dir), "nothing seems to run while the stack is up"
    finally:
        down = subprocess.run(
            [*make, "down"],
            cwd=repo_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert down.returncode == 0, down.stdout + down.stderr
    assert processes_using(data_dir) == []
