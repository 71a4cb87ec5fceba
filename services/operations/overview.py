"""What the console shows, as plain data: built from the polled health reports, the dead-letter
log and the referral board, then rendered as HTML (pages.py) or JSON (/v1/overview)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.operations.deadletters import DeadLetterEntry, DeadLetterLog
from services.operations.health_poller import ServiceHealth
from services.operations.referral_board import DepartmentLoad, ReferralBoard


@dataclass(frozen=True)
class ProcessorView:
    service: str
    name: str
    state: str  # running, catching up, stalled, held, stuck, disconnected, down, "no answer"
    ready: bool
    lag: int | None = None
    lag_by_partition: dict[str, int] = field(default_factory=dict)
    consumed: int | None = None
    produced: int | None = None
    consumed_per_second: float | None = None
    produced_per_second: float | None = None
    restarts: int | None = None
    seconds_since_progress: float | None = None
    last_error: str | None = None
    # "stuck at topic/partition@offset: reason": failing run after run on one message
    stuck: str | None = None
    skip_command: str | None = None  # what gets it past that message, once an operator agrees
    # Scaled out: "instance a · tasks 0, 2 of 3 · 4 rebalances" (the lag's partitions are its)
    sharing: str | None = None


@dataclass(frozen=True)
class ServiceView:
    name: str
    url: str
    ready: bool
    http_status: int | None
    error: str | None
    processors: list[ProcessorView]
    # What the service's /healthz names as wrong beside its processors (the audit: a log that
    # no longer extends its last signed tree head).
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeadLetterRow:
    dead_letter_id: str
    failed_at: str
    service: str
    source: str
    reason: str
    redriven: int


@dataclass(frozen=True)
class Overview:
    generated_at: datetime
    services: list[ServiceView]
    departments: list[DepartmentLoad]
    referrals_ready: bool
    dead_letters: list[DeadLetterRow]
    dead_letters_total: int
    dead_letters_by_service: dict[str, int]
    dead_letters_ready: bool

    @property
    def processors(self) -> list[ProcessorView]:
        return [p for s in self.services for p in s.processors]

    @property
    def problems(self) -> list[tuple[str, str]]:
        """(service, problem) for every problem a service's /healthz names."""
        return [(s.name, problem) for s in self.services for problem in s.problems]

    def as_document(self) -> dict[str, Any]:
        document = asdict(self)
        document["generated_at"] = self.generated_at.isoformat()
        return document


def service_view(health: ServiceHealth, now: float) -> ServiceView:
    """One polled service and its processors; a silent service is one row saying so."""
    if health.report is None:
        state = "no answer" if health.checked_at is not None else "not polled yet"
        processors = [ProcessorView(health.name, "-", state, False, last_error=health.error)]
        return ServiceView(
            health.name, health.url, False, health.http_status, health.error, processors
        )
    return ServiceView(
        health.name,
        health.url,
        health.ready,
        health.http_status,
        health.error,
        [_processor_view(health, p, now) for p in health.processors],
        [str(problem) for problem in health.report.get("problems") or []],
    )


def local_view(name: str, url: str, ready: bool, report: dict[str, Any], now: float) -> ServiceView:
    """The console's own processors, from its own health report rather than over HTTP."""
    health = ServiceHealth(
        name, url, checked_at=now, http_status=200 if ready else 503, report=report
    )
    return service_view(health, now)


def _processor_view(health: ServiceHealth, report: dict[str, Any], now: float) -> ProcessorView:
    name = str(report.get("name", "?"))
    rate = health.rates.get(name)
    progress = report.get("last_progress_at")
    lag_by_partition = report.get("lag_by_partition")
    return ProcessorView(
        service=health.name,
        name=name,
        state=str(report.get("state", "unknown")),
        ready=str(report.get("state")) == "running",
        lag=_int_or_none(report.get("lag")),
        lag_by_partition={str(k): int(v) for k, v in lag_by_partition.items() if isinstance(v, int)}
        if isinstance(lag_by_partition, dict)
        else {},
        consumed=_int_or_none(report.get("consumed")),
        produced=_int_or_none(report.get("produced")),
        consumed_per_second=rate.consumed_per_second if rate else None,
        produced_per_second=rate.produced_per_second if rate else None,
        restarts=_int_or_none(report.get("restarts")),
        seconds_since_progress=max(0.0, now - progress)
        if isinstance(progress, float | int)
        else None,
        last_error=str(report["last_error"]) if report.get("last_error") else None,
        stuck=str(report["stuck"]) if report.get("stuck") else None,
        skip_command=_skip_command(name, report.get("stuck_at")),
        sharing=_sharing(report),
    )


def _sharing(report: dict[str, Any]) -> str | None:
    """What share of a scaled-out processor's tasks this instance holds."""
    tasks, count = report.get("tasks"), report.get("task_count")
    if not isinstance(tasks, list) or not isinstance(count, int):
        return None
    held = ", ".join(str(t) for t in tasks) if tasks else "none (standing by)"
    return (
        f"instance {report.get('instance')} · tasks {held} of {count} · "
        f"{_int_or_none(report.get('rebalances')) or 0} rebalances"
    )


def _skip_command(processor: str, stuck_at: object) -> str | None:
    if not isinstance(stuck_at, dict):
        return None
    return (
        f"assist deadletter skip --service {processor} --topic {stuck_at.get('topic')} "
        f"--partition {stuck_at.get('partition')} --offset {stuck_at.get('offset')} "
        '--reason "…"'
    )


def dead_letter_row(entry: DeadLetterEntry) -> DeadLetterRow:
    letter = entry.letter
    return DeadLetterRow(
        entry.dead_letter_id,
        letter.failed_at.isoformat(timespec="seconds"),
        letter.service,
        entry.source,
        letter.reason,
        len(entry.redrives),
    )


def build_overview(
    services: list[ServiceView],
    board: ReferralBoard | None,
    letters: DeadLetterLog | None,
    shown: int,
    now: datetime | None = None,
) -> Overview:
    """`board` and `letters` are None while their processors are still reading their topics."""
    now = now or datetime.now(UTC)
    return Overview(
        generated_at=now,
        services=services,
        departments=board.by_department(now) if board is not None else [],
        referrals_ready=board is not None,
        dead_letters=[dead_letter_row(e) for e in letters.recent(shown)] if letters else [],
        dead_letters_total=letters.total if letters else 0,
        dead_letters_by_service=dict(letters.by_service) if letters else {},
        dead_letters_ready=letters is not None,
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None
