"""The demo `make run` feeds: households of different tiers, signals, and departments' answers.

It talks to the running system as its users do (HTTP with the tokens of the tokens file; a
department over Kafka with its own login, by the example consumer of contracts/examples), and
shows the loop happening by following the chain writer's log: one line per event appended to a
household's chain, with its producer and correlation id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts.access import department_principal
from deploy.kafka.credentials import FILE_NAME as CREDENTIALS_FILE
from deploy.kafka.credentials import password_of
from deploy.local.tokens import read_tokens, role_tokens, token_of
from events.identity import make_resident_id, mask_resident_id

INTAKE = f"http://127.0.0.1:{os.environ.get('ASSIST_INTAKE_PORT', '8001')}"
FEEDBACK = f"http://127.0.0.1:{os.environ.get('ASSIST_FEEDBACK_PORT', '8004')}"
POLICY = f"http://127.0.0.1:{os.environ.get('ASSIST_POLICY_PORT', '8009')}"
SCHEDULER = f"http://127.0.0.1:{os.environ.get('ASSIST_SCHEDULER_PORT', '8010')}"


def _member(
    n: int,
    birth: date,
    relation: str,
    income: int,
    employment: str,
    capacity: str = "full",
    **flags: Any,
) -> dict[str, Any]:
    return {
        "person_id": make_resident_id("330106", birth, n),
        "name": f"Demo {relation} {n}",
        "birth_date": birth.isoformat(),
        "relation": relation,
        "monthly_income": income,
        "labour_capacity": capacity,
        "employment_status": employment,
        **flags,
    }


def _household(channel: str, members: list[dict[str, Any]], **facts: Any) -> dict[str, Any]:
    return {
        "region_code": "330100",
        "channel": channel,
        "members": members,
        "assets": {"deposits": 2000, "vehicles": 0, "residential_properties": 1},
        "rigid_expenses_12m": {"medical": 0, "education": 0},
        **facts,
    }


HOUSEHOLDS: dict[str, dict[str, Any]] = {
    "DEMO-DIBAO-FAMILY": _household(
        "window",
        [
            _member(101, date(1985, 4, 2), "head", 0, "unemployed"),
            _member(102, date(1987, 8, 9), "spouse", 1500, "employed"),
            _member(103, date(2014, 9, 1), "child", 0, "student", "none", in_school=True),
        ],
    ),
    "DEMO-ELDERLY-ALONE": _household(
        "online",
        [
            _member(201, date(1948, 1, 20), "head", 600, "retired", "none", chronic_illness=True),
        ],
        rigid_expenses_12m={"medical": 3000, "education": 0},
    ),
    "DEMO-MARGINAL-CARE": _household(
        "grid_worker",
        [
            _member(301, date(1979, 11, 3), "head", 3000, "employed"),
            _member(302, date(1981, 2, 14), "spouse", 0, "none", "none", disability_grade=2),
        ],
        dwelling_unsafe=True,
    ),
}


def _post(url: str, token: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} | ({"Idempotency-Key": key} if key else {})
    return httpx.post(url, json=body, headers=headers, timeout=30)


class LogFollower:
    """Prints the chain writer's 'event chained' lines as they are written."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._offset = log.stat().st_size if log.exists() else 0
        self.seen = 0

    def show(self, seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            with self._log.open() as file:
                file.seek(self._offset)
                for line in file:
                    self._print(line)
                self._offset = file.tell()
            time.sleep(0.3)

    def _print(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return
        if entry.get("event") != "event chained":
            return
        self.seen += 1
        print(
            f"  {entry['timestamp'][11:23]}  {entry['household_id']:<22} "
            f"#{entry['sequence']:<3} {entry['event_type']:<24} by {entry['producer']:<15} "
            f"correlation {entry['correlation_id'][:8]}"
        )


def _requested_visit(log: Path, since: str) -> tuple[str, str] | None:
    """(visit_id, household_id) of the risk warning identification logged since `since`."""
    for line in reversed(log.read_text().splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "risk warning raised" and entry.get("timestamp", "") >= since:
            return str(entry["visit_id"]), str(entry["household_id"])
    return None


def run_demo(data: Path) -> int:
    tokens = role_tokens(data / "tokens.json")
    run = datetime.now(UTC).strftime("%H%M%S")
    follower = LogFollower(data / "log" / "chainwriter.log")
    print("\n== one-stop intake: three households apply")
    for name, body in HOUSEHOLDS.items():
        household_id = f"{name}-{run}"
        reply = _post(
            f"{INTAKE}/v1/applications",
            tokens["intake"],
            {**body, "household_id": household_id},
            key=f"demo-{household_id}",
        )
        print(f"  {household_id}: {reply.status_code} {reply.json()}")
    follower.show(8)

    print("\n== policies finding people: a large medical bill for someone of no known household")
    patient = make_resident_id("330106", date(1958, 6, 1), int(run) % 1000)
    since = datetime.now(UTC).isoformat()
    reply = _post(
        f"{INTAKE}/v1/signals",
        tokens["department:medical_security"],
        {
            "kind": "major_medical_expense",
            "person_id": patient,
            "region_code": "330100",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_department": "medical_security",
            "amount": 32000,
        },
        key=f"demo-signal-401-{run}",
    )
    print(f"  signal about {mask_resident_id(patient)}: {reply.status_code}")
    follower.show(5)
    requested = _requested_visit(data / "log" / "identification.log", since)
    if requested:
        visit_id, household_id = requested
        print(f"\n== a grid worker visits {household_id} ({visit_id}) and reports what they found")
        found = _household(
            "home_visit",
            [
                {
                    **_member(
                        401, date(1958, 6, 1), "head", 800, "retired", "none", chronic_illness=True
                    ),
                    "person_id": patient,
                },
                _member(402, date(1960, 3, 3), "spouse", 0, "none", "none", disability_grade=1),
            ],
            rigid_expenses_12m={"medical": 32000, "education": 0},
        )
        reply = _post(
            f"{INTAKE}/v1/visits/{visit_id}",
            tokens["intake"],
            {**found, "visitor": "grid-worker-07", "findings": "both unable to work"},
        )
        print(f"  visit result: {reply.status_code}")
        follower.show(6)

    print("\n== dynamic monitoring: the DIBAO family's spouse finds better work")
    spouse = HOUSEHOLDS["DEMO-DIBAO-FAMILY"]["members"][1]["person_id"]
    _post(
        f"{INTAKE}/v1/signals",
        tokens["department:human_resources"],
        {
            "kind": "income_change",
            "person_id": spouse,
            "region_code": "330100",
            "occurred_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
            "source_department": "human_resources",
            "monthly_income": 4200,
        },
        key=f"demo-signal-102-{run}",
    )
    follower.show(6)

    print("\n== result feedback: departments answer their referrals")
    answered = 0
    for role, outcome in (
        (
            "department:disabled_persons_federation",
            {"outcome": "DELIVERED", "delivered": {"cash_amount": 150, "service": "nursing"}},
        ),
        ("department:housing", {"outcome": "DECLINED", "reason": "not_covered"}),
    ):
        listing = httpx.get(
            f"{FEEDBACK}/v1/referrals",
            params={"status": "open"},
            headers={"Authorization": f"Bearer {tokens[role]}"},
            timeout=30,
        )
        for referral in listing.json()[:1]:
            reply = _post(
                f"{FEEDBACK}/v1/referrals/{referral['referral_id']}/feedback", tokens[role], outcome
            )
            answered += 1
            print(
                f"  {role.split(':')[1]} -> {referral['program']} of "
                f"{referral['household_id']}: {outcome['outcome']} ({reply.status_code})"
            )
    follower.show(6)
    department_over_kafka(data)
    follower.show(4)
    over_time(data, run, follower)
    print(
        f"\ndemo done: {follower.seen} events chained. Follow every service with `make logs`; "
        "stop everything with `make down`."
    )
    return 0 if follower.seen else 1


EXAMPLE_CONSUMER = Path(__file__).resolve().parents[2] / "contracts/examples/department_consumer.py"


def department_over_kafka(data: Path, department: str = "medical_security") -> None:
    """A department that reads its topic and answers on assist.feedback with nothing but its
    own Kafka login, as contracts/examples shows; then the same login on another department's
    topic, refused by the broker."""
    credentials = data / "kafka" / CREDENTIALS_FILE
    broker = data / "kafka" / "broker.json"
    if not credentials.exists() or not broker.exists():
        return  # a broker of someone else's: its logins are not ours to use
    principal = department_principal(department)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KAFKA_BOOTSTRAP_SERVERS": json.loads(broker.read_text())["bootstrap"],
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": principal,
        "KAFKA_SASL_PASSWORD": password_of(credentials, principal),
        "ASSIST_TOPIC_NAMESPACE": os.environ.get("ASSIST_TOPIC_NAMESPACE", ""),
    }
    print(f"\n== {department} answers over Kafka, logged in as {principal} ({credentials})")
    for topic_of, args, label in (
        (department, ["--max-referrals", "1", "--timeout", "20"], "its own topic"),
        ("housing", ["--timeout", "10"], "housing's topic"),
    ):
        ran = subprocess.run(  # noqa: S603 - this interpreter, the example's file
            [sys.executable, str(EXAMPLE_CONSUMER), *args],
            env=env | {"ASSIST_DEPARTMENT": topic_of},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # Its answers, or the last word of its error (the client's own log lines before it).
        said = ran.stdout.strip().splitlines() or ran.stderr.strip().splitlines()[-1:]
        said = said or ["(nothing to answer)"]
        print(f"  {label}: " + "\n  ".join(said))


def over_time(data: Path, run: str, follower: LogFollower) -> None:
    """A household over time: a raised standard proposed, its impact, a second person's
    approval, and the manual clock moved past its effective date and a child's birthday."""
    tokens = data / "tokens.json"
    operator = {"Authorization": f"Bearer {token_of(tokens, 'operator')}"}
    clock = httpx.get(f"{SCHEDULER}/v1/clock", headers=operator, timeout=30).json()
    if clock.get("mode") != "manual":
        print("\n(the clock follows the wall clock: ASSIST_CLOCK=manual shows time passing)")
        return
    today = date.fromisoformat(clock["today"])
    effective = today + timedelta(days=10)
    birthday = effective + timedelta(days=20)

    print("\n== a left-behind child, 16 on " + birthday.isoformat() + ", and a grandmother apply")
    household_id = f"DEMO-LEFT-BEHIND-{run}"
    body = _household(
        "grid_worker",
        [
            _member(501, date(today.year - 63, 5, 5), "parent", 1000, "retired", "none"),
            _member(
                502,
                _years_before(birthday, 16),
                "child",
                0,
                "student",
                "none",
                in_school=True,
                left_behind=True,
            ),
        ],
    )
    reply = _post(
        f"{INTAKE}/v1/applications",
        token_of(tokens, "intake"),
        {**body, "household_id": household_id},
        key=f"demo-{household_id}",
    )
    print(f"  {household_id}: {reply.status_code}")
    follower.show(6)

    name = f"demo-{run}"
    print(f"\n== policy: {name} raises Hangzhou's minimum living standard to 1520 from {effective}")
    version = {
        "policy_version": name,
        "effective_from": effective.isoformat(),
        "regions": [{"region_code": "330100", "dibao_standard": "1520"}],
    }
    proposer, approver = _policy_users(tokens)
    reply = _post(f"{POLICY}/v1/policy/versions", token_of(tokens, "policy", proposer), version)
    print(f"  proposed by {proposer}: {reply.status_code}")
    if reply.status_code != 201:
        print(f"  {reply.text}")
        return
    impact = httpx.get(
        f"{POLICY}/v1/policy/versions/{name}/impact",
        headers={"Authorization": f"Bearer {token_of(tokens, 'auditor')}"},
        timeout=300,
    ).json()
    _print_impact(impact)
    own = _post(
        f"{POLICY}/v1/policy/versions/{name}/approval", token_of(tokens, "policy", proposer), {}
    )
    print(f"  {proposer} approves their own version: {own.status_code} {own.json().get('detail')}")
    reply = _post(
        f"{POLICY}/v1/policy/versions/{name}/approval", token_of(tokens, "policy", approver), {}
    )
    print(f"  approved by {approver}: {reply.status_code}")

    for to, why in (
        (effective, f"{name} takes effect: every open household is re-screened under it"),
        (birthday, "the left-behind child turns 16: child care service ends"),
    ):
        print(f"\n== the clock moves to {to}: {why}")
        reply = _post(
            f"{SCHEDULER}/v1/clock/advance", token_of(tokens, "operator"), {"to": str(to)}
        )
        print(f"  clock: {reply.json().get('now', reply.text)}")
        follower.show(12)


def _policy_users(tokens: Path) -> tuple[str, str]:
    users = [e["user"] for e in read_tokens(tokens) if e["role"] == "policy"]
    return users[0], users[1]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _print_impact(impact: dict[str, Any]) -> None:
    print(
        f"  impact over {impact.get('households')} open households, "
        "before anything changes (nothing is written to any chain):"
    )
    for region in impact.get("regions", []):
        print(f"    region {region['region_code']}")
        for label in ("tiers", "referrals_issued", "referrals_withdrawn"):
            counts = region.get(label) or {}
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
            print(f"      {label.replace('_', ' '):<20} {shown}")
        print(
            f"      {'minimum living gap':<20} {region.get('minimum_living_gap_before')} -> "
            f"{region.get('minimum_living_gap_after')} a month"
        )
