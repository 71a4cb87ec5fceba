"""The console shows which tasks and partitions each instance of a scaled-out processor holds."""

from __future__ import annotations

import time

from services.operations.health_poller import ServiceHealth
from services.operations.overview import build_overview, service_view
from services.operations.pages import console_page
from services.runtime.http import health_report
from services.runtime.processor import Processor, ProcessorConfig, ScaleOut
from services.runtime.settings import KafkaSettings


def instance_report(instance: str, tasks: list[int], partitions: list[int]) -> dict[str, object]:
    processor = Processor(
        ProcessorConfig(
            "referral",
            ("assist.chain", "assist.policy"),
            "assist.deadletter",
            scale_out=ScaleOut(instance, broadcast=("assist.policy",)),
        ),
        lambda: None,  # type: ignore[arg-type,return-value]
        KafkaSettings(),
    )
    status = processor.status
    status.running = status.connected = status.caught_up = True
    status.tasks, status.task_count, status.rebalances = tasks, 3, 2
    status.partitions = [f"assist.chain/{p}" for p in partitions]
    status.lag = {f"assist.chain/{p}": 0 for p in partitions}
    healthy, report = health_report("referral", [processor])
    assert healthy
    return report


def test_each_instance_shows_its_tasks_and_the_partitions_they_hold() -> None:
    a, b = instance_report("a", [0, 2], [0, 2]), instance_report("b", [], [])
    (processor,) = a["processors"]  # type: ignore[misc]
    assert processor["instance"] == "a" and processor["tasks"] == [0, 2]
    assert processor["partitions"] == ["assist.chain/0", "assist.chain/2"]
    views = [
        service_view(
            ServiceHealth(name, "http://x", checked_at=time.time(), http_status=200, report=report),
            time.time(),
        )
        for name, report in (("referral", a), ("referral-2", b))
    ]
    assert [row.sharing for view in views for row in view.processors] == [
        "instance a · tasks 0, 2 of 3 · 2 rebalances",
        "instance b · tasks none (standing by) of 3 · 2 rebalances",
    ]
    page = console_page(build_overview(views, None, None, 10), 2)
    assert "instance a · tasks 0, 2 of 3" in page and "assist.chain/2" in page


def test_a_processor_that_does_not_scale_out_shows_no_share() -> None:
    processor = Processor(
        ProcessorConfig("feedback", ("assist.chain",), "assist.deadletter"),
        lambda: None,  # type: ignore[arg-type,return-value]
        KafkaSettings(),
    )
    _, report = health_report("feedback", [processor])
    health = ServiceHealth(
        "feedback", "http://x", checked_at=time.time(), http_status=503, report=report
    )
    view = service_view(health, time.time())
    assert [row.sharing for row in view.processors] == [None]
