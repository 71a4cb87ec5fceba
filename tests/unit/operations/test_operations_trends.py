"""The console's last hour: samples folded into one point per minute, per processor."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from services.operations.app import ConsoleDeps, console_gate, install_console
from services.operations.overview import Overview, ProcessorView, ServiceView
from services.operations.trends import (
    DEAD_LETTERS,
    LAG,
    THROUGHPUT,
    Trends,
    TrendSample,
    sample,
)
from services.runtime.auth import TokenStore

T0 = 1_000_000.0


def overview(
    rates: dict[str, float], lags: dict[str, int], letters: dict[str, int] | None
) -> Overview:
    processors = [
        ProcessorView("svc", name, "running", True, lag=lags.get(name), consumed_per_second=rate)
        for name, rate in rates.items()
    ]
    return Overview(
        generated_at=datetime.now(UTC),
        services=[ServiceView("svc", "http://svc", True, 200, None, processors)],
        departments=[],
        referrals_ready=True,
        dead_letters=[],
        dead_letters_total=sum((letters or {}).values()),
        dead_letters_by_service=letters or {},
        dead_letters_ready=letters is not None,
    )


def sampled(
    rates: dict[str, float], lags: dict[str, int], letters: dict[str, int] | None, at: float
) -> TrendSample:
    shown = overview(rates, lags, letters)
    return sample(shown.processors, letters, at)


def test_throughput_is_averaged_and_lag_peaks_per_minute() -> None:
    trends = Trends()
    trends.record(sampled({"a": 10.0}, {"a": 5}, {}, T0))
    trends.record(sampled({"a": 20.0}, {"a": 50}, {}, T0 + 5))
    trends.record(sampled({"a": 4.0}, {"a": 1}, {}, T0 + 70))
    now = T0 + 70
    assert trends.series(THROUGHPUT, now) == {"a": [(-1.0, 15.0), (-0.0, 4.0)]}
    assert trends.series(LAG, now) == {"a": [(-1.0, 50.0), (-0.0, 1.0)]}


def test_samples_older_than_the_window_are_dropped() -> None:
    trends = Trends(window_seconds=600, buckets=10)
    for minute in range(30):
        trends.record(sampled({"a": float(minute)}, {}, {}, T0 + 60 * minute))
    points = trends.series(THROUGHPUT, T0 + 60 * 29)["a"]
    assert len(points) == 11 and points[0][1] == 19.0 and points[-1] == (-0.0, 29.0)


def test_dead_letters_count_what_is_new_in_each_minute_not_what_was_there_at_start() -> None:
    trends = Trends()
    trends.record(sampled({}, {}, None, T0))  # still reading the topic: no baseline
    trends.record(sampled({}, {}, {"intake": 40}, T0 + 5))  # 40 from before we started
    trends.record(sampled({}, {}, {"intake": 42}, T0 + 65))
    trends.record(sampled({}, {}, {"intake": 42, "audit": 1}, T0 + 125))
    lines = trends.series(DEAD_LETTERS, T0 + 125)
    assert lines["intake"] == [(-2.0, 0.0), (-1.0, 2.0), (-0.0, 0.0)]
    assert lines["audit"] == [(-0.0, 1.0)]


def test_only_the_busiest_lines_are_named_the_rest_are_summed() -> None:
    trends = Trends()
    trends.record(sampled({f"p{i}": float(i) for i in range(12)}, {}, {}, T0))
    lines = trends.series(THROUGHPUT, T0, most=3)
    assert set(lines) == {"p11", "p10", "p9", "others"}
    assert lines["others"] == [(-0.0, float(sum(range(9))))]


async def test_the_console_draws_the_charts_and_serves_them_as_json() -> None:
    trends = Trends()
    trends.record(sampled({"a": 3.0, "b": 1.0}, {"a": 7}, {"intake": 1}, time.time()))
    app = FastAPI()
    deps = ConsoleDeps(
        console_gate(TokenStore({"operator": "op"}), 60),
        lambda: overview({"a": 3.0}, {}, {}),
        lambda: None,
        5,
        lambda: trends,
    )
    install_console(app, deps)
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")
    operator = {"Authorization": "Bearer op"}
    document = (await web.get("/v1/trends", headers=operator)).json()
    assert document["samples"] == 1
    assert (await web.get("/v1/trends")).status_code == 401
    page = (await web.get("/", headers=operator)).text
    for metric in (THROUGHPUT, LAG, DEAD_LETTERS):
        assert f'id="trend-{metric}"' in page
    # One point per line: throughput of a and b, lag of a, dead letters of intake.
    assert page.count('class="point"') == 4
    assert 'data-series="a" data-x="-0" data-y="3"' in page
