"""Inline SVG charts: every value drawn is readable back from the page, and escaped."""

from __future__ import annotations

import re

from services.runtime.web.charts import Series, bar_chart, line_chart


def test_a_line_chart_draws_every_point_with_its_value() -> None:
    svg = line_chart(
        "throughput", [Series("a", [(0, 1.0), (1, 3.5)]), Series("b<script>", [(1, 2.0)])]
    )
    points = re.findall(
        r'class="point" data-series="([^"]+)" data-x="([^"]+)" data-y="([^"]+)"', svg
    )
    assert points == [("a", "0", "1"), ("a", "1", "3.5"), ("b&lt;script&gt;", "1", "2")]
    assert "<script>" not in svg
    assert 'aria-label="throughput"' in svg


def test_the_y_axis_reaches_the_highest_value() -> None:
    svg = line_chart("t", [Series("a", [(0, 0.0), (1, 5.1)])])
    labels = [float(v) for v in re.findall(r'text-anchor="end">([0-9.]+)</text>', svg)]
    assert max(labels) >= 5.1
    ys = [float(y) for y in re.findall(r'<circle[^>]* cy="([0-9.]+)"', svg)]
    assert min(ys) >= 12  # inside the drawing area, not above it


def test_an_explicit_x_range_places_points_within_it() -> None:
    svg = line_chart("t", [Series("a", [(-1.0, 1.0)])], x_range=(-60.0, 0.0))
    (cx,) = (float(x) for x in re.findall(r'cx="([0-9.]+)"', svg))
    assert 600 < cx < 640  # a minute ago is near the right-hand end of an hour


def test_empty_charts_say_so() -> None:
    assert "no data yet" in line_chart("t", [])
    assert "nothing to show" in bar_chart("t", [], ["before", "after"])


def test_a_bar_chart_draws_one_bar_per_group_and_series() -> None:
    svg = bar_chart("programs", [("dibao", [3, 5]), ("tekun", [0, 1])], ["before", "after"])
    bars = re.findall(r'data-group="([^"]+)" data-series="([^"]+)" data-y="([^"]+)"', svg)
    assert bars == [
        ("dibao", "before", "3"),
        ("dibao", "after", "5"),
        ("tekun", "before", "0"),
        ("tekun", "after", "1"),
    ]
