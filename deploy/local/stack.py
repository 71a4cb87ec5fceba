"""The local stack: start, stop and report every service as its own process.

`make run` calls `up` (after the broker is up) and `demo`; `make down` calls `down`.
Each service writes its log to <data>/log/<service>.log and its pid to <data>/run/.
On the local broker (credentials in <data>/kafka/credentials.json) `up` first makes every
principal's login, the topics and the grants as the administrator, then starts each service
logged in as itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka.credentials import FILE_NAME as CREDENTIALS_FILE
from deploy.kafka.logins import admin_settings, principal_settings
from deploy.kafka.provision import provision
from deploy.local.tokens import ensure_tokens
from services.chainwriter.signing_key import ensure_writer_key
from services.runtime.pseudonym import KEY_FILE, ensure_key_file


@dataclass(frozen=True)
class ServiceDef:
    name: str
    default_port: int
    role: str

    @property
    def port(self) -> int:
        """The default port, unless ASSIST_<NAME>_PORT moves it."""
        return int(os.environ.get(f"ASSIST_{self.name.upper()}_PORT", self.default_port))


SERVICES: tuple[ServiceDef, ...] = (
    ServiceDef("chainwriter", 8007, "orders and hash-links chains; delivers referrals"),
    ServiceDef("scheduler", 8010, "the system's clock; re-screening on the dates that matter"),
    ServiceDef("identification", 8002, "compares declarations with records; monitoring"),
    ServiceDef("classification", 8003, "tiers and tags under the policy in force"),
    ServiceDef("referral", 8006, "push according to needs: a referral per program lacking"),
    ServiceDef("feedback", 8004, "departments' answers, overdue referrals, settlement"),
    ServiceDef("audit", 8005, "auditors: chains, verification, state as of, signed checkpoints"),
    ServiceDef("policy", 8009, "policy versions: propose, impact, approve by a second person"),
    ServiceDef("intake", 8001, "one-stop intake: applications, visits, records, signals"),
    ServiceDef("operations", 8008, "operator console: processors, lag, dead letters, overdue"),
)
# Where each role's pages are, and whose token opens them.
PAGES = (
    ("operations", "/", "operator console: processors, lag, trends, dead letters ('operator')"),
    ("feedback", "/worklist", "a department's referrals and answers ('department:<id>')"),
    ("audit", "/households", "a household's chain, verification, state as of a date ('auditor')"),
    ("policy", "/versions", "policy versions and their impact ('policy' or 'auditor')"),
)

# The closed loop without the console, in the order a cold start needs (the chain writer
# first, intake last): what the benchmark and the end-to-end tests start.
LOOP_SERVICES = tuple(s.name for s in SERVICES if s.name != "operations")
# The services whose processor any number of instances can run, sharing its partitions
# (services/runtime/partition_tasks.py); the others run one instance each.
SCALED_OUT = ("chainwriter", "classification", "referral", "scheduler")


def _pid_file(data: Path, name: str) -> Path:
    return data / "run" / f"{name}.pid"


# Flags of a task in /proc/<pid>/stat (include/linux/sched.h).
_PF_EXITING = 0x00000004  # being torn down: its command line already reads empty


def _alive(pid: int) -> bool:
    """Is `pid` one of our services, still running?

    Not when it is gone, a zombie (killed, and not yet reaped by whichever process inherited
    it: state Z, an empty command line), on its way out (kill -9 a moment ago), or a recycled
    pid now running another program (another user's, a kernel thread's). The pid file is
    written only once `Popen` has returned, that is after the exec, so one of our services
    always has its own command line by then: an empty one means dead, not "just forked".
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: the pid was recycled
        return False
    seen = _proc_state(pid) or _ps_state(pid)
    if seen is None:  # neither /proc nor ps says anything: the signal reached something
        return True
    state, exiting, command = seen
    return state not in {"Z", "X", "x"} and not exiting and b"services." in command


def _proc_state(pid: int) -> tuple[str, bool, bytes] | None:
    """(state, exiting, command line) from Linux's /proc; None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        # Gone between the signal and the read, or no /proc at all (not Linux).
        return ("X", True, b"") if Path("/proc/self/stat").exists() else None
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session tty tpgid flags ...": comm may hold spaces and ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], bool(int(fields[6]) & _PF_EXITING), command


def _ps_state(pid: int) -> tuple[str, bool, bytes] | None:
    """(state, exiting, command line) from ps(1), where there is no /proc (macOS)."""
    try:
        shown = subprocess.run(  # noqa: S603 - fixed arguments
            ["ps", "-o", "stat=", "-o", "command=", "-p", str(pid)],  # noqa: S607
            capture_output=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not shown:
        return ("X", True, b"")
    state, _, command = shown.partition(b" ")
    return state[:1].decode(), b"E" in state[1:], command  # BSD ps: E, trying to exit


def running_pid(data: Path, name: str) -> int | None:
    try:
        pid = int(_pid_file(data, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _health(port: int) -> tuple[int | None, dict[str, object] | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:  # noqa: S310
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return None, None


def credentials_of(data: Path) -> Path | None:
    """The local broker's credentials file (`make broker-up` writes it), if there is one."""
    path = data / "kafka" / CREDENTIALS_FILE
    return path.resolve() if path.exists() else None


def _kafka_login(bootstrap: str, credentials: Path | None, principal: str) -> dict[str, str]:
    """KAFKA_* of a service: its own principal's login on the local broker; on another
    cluster, what the environment says (its login is the deployment's business)."""
    if credentials is None:
        return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    admin = admin_settings(bootstrap, credentials)
    return principal_settings(admin, credentials, principal).environment()


def service_env(
    data: Path, bootstrap: str, service: ServiceDef, credentials: Path | None = None
) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")},
        # Its own principal's login, never the administrator's (contracts/access.py).
        **_kafka_login(bootstrap, credentials, service.name),
        "ASSIST_DATA_DIR": str(data.resolve()),
        "ASSIST_TOKENS_FILE": str((data / "tokens.json").resolve()),
        # The secret of the keyed pseudonyms in Kafka keys (services/runtime/pseudonym.py).
        "ASSIST_PSEUDONYM_KEY_FILE": str((data / KEY_FILE).resolve()),
        "ASSIST_LOG_FORMAT": "json",
        # The demo moves time by days: a manual clock unless the environment says otherwise.
        "ASSIST_CLOCK": os.environ.get("ASSIST_CLOCK", "manual"),
        f"ASSIST_{service.name.upper()}_PORT": str(service.port),
        # The operator console watches every service of this stack, wherever its port is.
        "ASSIST_CONSOLE_SERVICES": json.dumps(
            {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES if s.name != "operations"}
        ),
    }


def up(data: Path, bootstrap: str, timeout: float = 90.0, credentials: Path | None = None) -> int:
    for sub in ("log", "run"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    credentials = credentials or credentials_of(data)
    if credentials is not None:
        asyncio.run(provision(admin_settings(bootstrap, credentials), credentials))
    tokens = ensure_tokens(data / "tokens.json")
    pseudonym_key = ensure_key_file(data / KEY_FILE)  # mode 0600, like the tokens
    ensure_writer_key(data)  # before the audit starts, which checks the writer's signatures
    started: set[str] = set()
    for service in SERVICES:
        if not running_pid(data, service.name):
            _start(data, bootstrap, service, credentials)
            started.add(service.name)
    deadline = time.monotonic() + timeout
    waiting = {s.name for s in SERVICES}
    while waiting and time.monotonic() < deadline:
        for service in SERVICES:
            if service.name in waiting and _health(service.port)[0] == 200:
                waiting.discard(service.name)
            elif service.name in waiting and not running_pid(data, service.name):
                if service.name not in started:
                    # It was running when looked at, and is gone now: killed just before
                    # (a SIGKILL takes effect a moment after kill(2) returns). Start it.
                    _start(data, bootstrap, service, credentials)
                    started.add(service.name)
                    continue
                print(f"{service.name} exited; its log says:\n{_tail(data, service.name)}")
                return 1
        time.sleep(0.5)
    status(data)
    print(
        f"\nbearer tokens (users with roles intake, auditor, operator, policy, "
        f"department:<id>): {tokens}"
    )
    print(f"secret of the keyed pseudonyms in Kafka keys: {pseudonym_key}")
    if credentials is not None:
        print(
            f"Kafka logins (SASL/SCRAM-SHA-512; a principal per service, department "
            f"'department.<id>', 'auditor', and 'admin'): {credentials}"
        )
    print(f"logs: {data / 'log'}/<service>.log   (make logs follows them all)")
    ports = {s.name: s.port for s in SERVICES}
    print(f"pages (log in with a token of {tokens}):")
    for owner, path, who in PAGES:
        if owner in ports:
            print(f"  http://127.0.0.1:{ports[owner]}{path:<12} {who}")
    if waiting:
        print(f"not healthy after {timeout:.0f}s: {', '.join(sorted(waiting))}")
        return 1
    return 0


def _start(data: Path, bootstrap: str, service: ServiceDef, credentials: Path | None) -> None:
    with (data / "log" / f"{service.name}.log").open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", f"services.{service.name}"],
            env=service_env(data, bootstrap, service, credentials),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(data, service.name).write_text(f"{process.pid}\n")
    print(f"started {service.name:<15} pid {process.pid}")


def down(data: Path, timeout: float = 20.0) -> int:
    pids = {s.name: running_pid(data, s.name) for s in SERVICES}
    for pid in pids.values():
        if pid:
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for name, pid in pids.items():
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid and _alive(pid):
            print(f"{name} did not stop in {timeout:.0f}s: killing it")
            os.kill(pid, signal.SIGKILL)
        _pid_file(data, name).unlink(missing_ok=True)
        if pid:
            print(f"stopped {name:<15} pid {pid}")
    return 0


def status(data: Path) -> int:
    print(f"{'service':<15} {'pid':>7}  {'address':<24} health   does")
    all_ok = True
    for service in SERVICES:
        pid = running_pid(data, service.name)
        code, _ = _health(service.port) if pid else (None, None)
        health = "ok" if code == 200 else "down" if not pid else f"{code or 'no answer'}"
        all_ok = all_ok and code == 200
        print(
            f"{service.name:<15} {pid or '-':>7}  http://127.0.0.1:{service.port:<7} {health:<8} "
            f"{service.role}"
        )
    return 0 if all_ok else 3


def _tail(data: Path, name: str, lines: int = 20) -> str:
    try:
        return "\n".join((data / "log" / f"{name}.log").read_text().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "demo"])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.data_dir, args.bootstrap)
    if args.command == "down":
        return down(args.data_dir)
    if args.command == "status":
        return status(args.data_dir)
    from deploy.local.demo import run_demo

    return run_demo(args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
