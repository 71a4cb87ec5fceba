"""Inline SVG charts: lines over time and grouped bars, drawn on the server, no script.

Every point is a `<circle class="point">` with a `<title>` (its value, read by a screen reader
and shown on hover) and `data-x`/`data-y` attributes, so a test or a reader can check what a
chart shows against the table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#4b5565")
_W, _H = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 28


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]  # (x, y), x ascending


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** len(str(int(top))) / 10 if top >= 1 else top / 4
    while top / step > 5:
        step *= 2
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _label(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _grid(ticks: Sequence[float], py: Callable[[float], float]) -> str:
    """Horizontal lines at the y ticks, labelled on the left."""
    return "".join(
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
        f'stroke="#e3e6eb"/><text x="{_LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">'
        f"{escape(_label(t))}</text>"
        for t in ticks
    )


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(n)}</span>'
        for i, n in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'


def line_chart(
    title: str,
    series: Sequence[Series],
    x_label: Callable[[float], str] = _label,
    unit: str = "",
    x_range: tuple[float, float] | None = None,
) -> str:
    """Lines over a shared x axis (the data's, or `x_range`); y starts at zero."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    if not xs:
        return (
            f'<svg class="chart" role="img" aria-label="{escape(title)}: no data yet" '
            f'viewBox="0 0 {_W} 60" width="{_W}"><text x="12" y="34">no data yet</text></svg>'
        )
    x0, x1 = x_range or (min(xs), max(xs))
    ticks = _ticks(max(ys) if ys else 0)
    top = max(ticks[-1], max(ys), 1e-9)
    width, height = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + (width * (x - x0) / (x1 - x0) if x1 > x0 else width / 2)

    def py(y: float) -> float:
        return _TOP + height - height * y / top

    grid = _grid(ticks, py)
    axis = (
        f'<text x="{_LEFT}" y="{_H - 8}">{escape(x_label(x0))}</text>'
        f'<text x="{_W - _RIGHT}" y="{_H - 8}" text-anchor="end">{escape(x_label(x1))}</text>'
    )
    lines = []
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        dots = "".join(
            f'<circle class="point" data-series="{escape(s.name)}" data-x="{x:g}" '
            f'data-y="{y:g}" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}">'
            f"<title>{escape(s.name)} {escape(x_label(x))}: {escape(_label(y))}{escape(unit)}"
            "</title></circle>"
            for x, y in s.points
        )
        lines.append(
            f'<g class="series" data-series="{escape(s.name)}"><polyline points="{path}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"/>{dots}</g>'
        )
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {_W} {_H}" '
        f'width="{_W}">{grid}{axis}{"".join(lines)}</svg>' + _legend([s.name for s in series])
    )


def bar_chart(
    title: str, groups: Sequence[tuple[str, Sequence[float]]], bars: Sequence[str]
) -> str:
    """Grouped bars: one group per label, one bar per name in `bars` (e.g. before / after)."""
    values = [v for _, vs in groups for v in vs]
    if not values:
        return (
            f'<svg class="chart" role="img" aria-label="{escape(title)}: nothing to show" '
            f'viewBox="0 0 {_W} 60" width="{_W}"><text x="12" y="34">nothing to show</text></svg>'
        )
    ticks = _ticks(max(values))
    top = max(ticks[-1], max(values), 1e-9)
    height = _H - _TOP - _BOTTOM - 14
    slot = (_W - _LEFT - _RIGHT) / len(groups)
    bar = max(2.0, min(28.0, (slot - 8) / max(1, len(bars))))

    def py(y: float) -> float:
        return _TOP + height - height * y / top

    grid = _grid(ticks, py)
    shapes = []
    for g, (label, vs) in enumerate(groups):
        start = _LEFT + g * slot + (slot - bar * len(vs)) / 2
        for b, value in enumerate(vs):
            colour = PALETTE[b % len(PALETTE)]
            y = py(value)
            shapes.append(
                f'<rect class="point bar" data-group="{escape(label)}" '
                f'data-series="{escape(bars[b])}" data-y="{value:g}" x="{start + b * bar:.1f}" '
                f'y="{y:.1f}" width="{bar - 1:.1f}" height="{py(0) - y:.1f}" fill="{colour}">'
                f"<title>{escape(label)}, {escape(bars[b])}: {escape(_label(value))}</title></rect>"
            )
        shapes.append(
            f'<text x="{_LEFT + g * slot + slot / 2:.1f}" y="{_H - 8}" text-anchor="middle">'
            f"{escape(label[:14])}</text>"
        )
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {_W} {_H}" '
        f'width="{_W}">{grid}{"".join(shapes)}</svg>' + _legend(bars)
    )
