"""Percentiles of the benchmark's latencies."""

from __future__ import annotations

import pytest

from bench.stats import percentile, rate, summary_ms


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]  # order does not matter
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 75) == pytest.approx(3.25)


def test_p99_of_a_hundred_values_is_near_the_top() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([5.0], 99) == 5.0


def test_percentile_refuses_nothing_and_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="0..100"):
        percentile([1.0], 101)


def test_summary_is_in_milliseconds() -> None:
    summary = summary_ms([0.010, 0.020, 0.030])
    assert summary == {
        "count": 3,
        "p50_ms": 20.0,
        "p95_ms": 29.0,
        "p99_ms": 29.8,
        "max_ms": 30.0,
        "mean_ms": 20.0,
    }
    assert summary_ms([]) == {"count": 0}


def test_rate_of_an_instant_is_zero() -> None:
    assert rate(10, 2.0) == 5.0
    assert rate(10, 0.0) == 0.0
