"""The console shows a stuck processor: where it fails, why, and the command that skips it."""

from __future__ import annotations

import time

from services.operations.health_poller import ServiceHealth
from services.operations.overview import build_overview, service_view
from services.operations.pages import console_page
from services.runtime.http import health_report
from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings
from services.runtime.stuck import StuckAt


def stuck_report() -> dict[str, object]:
    processor = Processor(
        ProcessorConfig("chainwriter", ("assist.events",), "assist.deadletter"),
        lambda: None,  # type: ignore[arg-type,return-value]
        KafkaSettings(),
    )
    processor.status.running = processor.status.connected = processor.status.caught_up = True
    processor.status.stuck = StuckAt(
        "assist.events", 3, 41, "OutputTooLarge: too big", 3, time.time()
    )
    healthy, report = health_report("chainwriter", [processor])
    assert not healthy
    return report


def test_a_stuck_processor_is_shown_with_where_why_and_how_to_skip_it() -> None:
    health = ServiceHealth(
        "chainwriter", "http://x", checked_at=time.time(), http_status=503, report=stuck_report()
    )
    view = service_view(health, time.time())
    [row] = view.processors
    assert row.state == "stuck" and not row.ready
    assert row.stuck == "stuck at assist.events/3@41: OutputTooLarge: too big"
    assert row.skip_command == (
        "assist deadletter skip --service chainwriter --topic assist.events --partition 3 "
        '--offset 41 --reason "…"'
    )
    page = console_page(build_overview([view], None, None, 10), 2)
    assert "stuck at assist.events/3@41: OutputTooLarge: too big" in page
    assert "--offset 41" in page and 'data-state="stuck"' in page


def test_a_problem_a_service_names_on_its_healthz_is_shown_first() -> None:
    problem = "the log no longer extends tree head 1f2e: partition 2 differs from size 40"
    healthy, report = health_report("audit", [], problems=[problem])
    assert not healthy
    health = ServiceHealth(
        "audit", "http://x", checked_at=time.time(), http_status=503, report=report
    )
    view = service_view(health, time.time())
    assert view.problems == [problem]
    overview = build_overview([view], None, None, 10)
    page = console_page(overview, 2)
    assert "1 service problems" in page
    assert (
        'id="problems" role="alert"' in page and "<strong>audit</strong>: the log no longer" in page
    )
    assert overview.as_document()["services"][0]["problems"] == [problem]
    assert 'id="problems"' not in console_page(build_overview([], None, None, 10), 2)
