"""The restart phase's arithmetic and the scale-out targets of the report."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import targets
from bench.restart import NATION_HOUSEHOLDS, slopes


def _point(households: int, **services: tuple[float, float | None]) -> dict[str, Any]:
    return {
        "households": households,
        "services": {
            name: {"seconds_to_ready": s, "peak_rss_mib": mib, "cpu_seconds": 1.0}
            for name, (s, mib) in services.items()
        },
    }


def test_slopes_carry_the_line_through_the_two_sizes_to_a_million() -> None:
    points = [
        _point(40_000, referral=(12.0, 700.0), intake=(2.0, 90.0)),
        _point(10_000, referral=(3.0, 250.0), intake=(2.0, 90.0)),  # order does not matter
    ]
    found = slopes(points)
    assert found["referral"]["seconds_per_1000_households"] == pytest.approx(0.3)
    assert found["referral"]["mib_per_1000_households"] == pytest.approx(15.0)
    ahead = NATION_HOUSEHOLDS - 40_000
    assert found["referral"]["extrapolated_seconds_at_1m"] == pytest.approx(12 + 0.0003 * ahead)
    assert found["referral"]["extrapolated_rss_mib_at_1m"] == pytest.approx(700 + 0.015 * ahead)
    assert found["intake"]["extrapolated_seconds_at_1m"] == pytest.approx(2.0)


def test_a_restart_that_got_faster_is_carried_on_flat() -> None:
    found = slopes([_point(1000, audit=(3.0, 200.0)), _point(2000, audit=(2.5, 190.0))])
    assert found["audit"]["seconds_per_1000_households"] == pytest.approx(-0.5)
    assert found["audit"]["extrapolated_seconds_at_1m"] == pytest.approx(2.5)
    assert found["audit"]["extrapolated_rss_mib_at_1m"] == pytest.approx(190.0)


def test_no_slope_without_two_sizes_or_a_memory_reading() -> None:
    assert slopes([_point(10_000, referral=(3.0, 250.0))]) == {}
    assert slopes([_point(5, referral=(3.0, 250.0)), _point(5, referral=(4.0, 260.0))]) == {}
    gone = slopes([_point(10, referral=(3.0, None)), _point(20, referral=(4.0, 260.0))])
    assert gone == {}


def test_the_report_judges_the_worst_service_at_a_million() -> None:
    results = {
        "restart": [_point(1000, a=(1.0, 100.0), b=(1.0, 100.0))],
        "restart_slopes": {
            "a": {"extrapolated_seconds_at_1m": 20.0, "extrapolated_rss_mib_at_1m": 900.0},
            "b": {"extrapolated_seconds_at_1m": 45.0, "extrapolated_rss_mib_at_1m": 300.0},
        },
    }
    found = {t["name"]: t for t in targets(results)}
    seconds = found["restart to ready at 1 M households (extrapolated; worst: b)"]
    assert seconds["value"] == "45 s" and not seconds["met"]
    memory = found["peak RSS after a restart at 1 M households (extrapolated; worst: a)"]
    assert memory["value"] == "900 MiB" and memory["met"]


def test_efficiency_and_topic_throughput_are_judged_against_their_goals() -> None:
    results = {
        "loop_kafka": {
            "households_per_second": 400.0,
            "ratio_to_baseline": 0.06,
            "efficiency": 0.55,
        },
        "loop_http": {"households_per_second": 60.0, "ratio_to_baseline": 0.01, "efficiency": 0.08},
    }
    found = {t["name"]: t for t in targets(results)}
    assert not found["loop via topic"]["met"]
    efficiency = found["loop efficiency (its reads and writes vs the fastest raw clients')"]
    assert efficiency["value"] == "55.0%" and efficiency["met"]


@pytest.mark.parametrize(("ratio", "met"), [(0.93, True), (0.62, False)])
def test_two_instances_each_are_judged_against_one(ratio: float, met: bool) -> None:
    results = {
        "loop_kafka": {"households_per_second": 400.0, "ratio_to_baseline": 0.06},
        "loop_kafka_paired": {
            "households_per_second": 400.0 * ratio,
            "ratio_to_one_instance": ratio,
        },
    }
    name = "loop via topic, two instances of each processor that scales out / one instance"
    paired = {t["name"]: t for t in targets(results)}[name]
    assert paired["value"] == f"{ratio:.0%}" and paired["met"] is met
