"""The console's last hour: throughput, lag and dead letters, sampled from what it already shows.

The console keeps no state of its own (it folds its topics from the beginning at every start), so
its trends begin when it starts and fill as it samples: one sample every few seconds, kept for
the window (an hour), drawn as one point per bucket (a minute). Memory is bounded by the window
over the sampling interval times the number of processors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.operations.overview import ProcessorView

Metric = str
TrendLines = dict[str, list[tuple[float, float]]]  # name -> [(minutes before now, value)]
THROUGHPUT: Metric = "throughput"  # messages consumed per second
LAG: Metric = "lag"  # messages behind the end of the inputs
DEAD_LETTERS: Metric = "dead_letters"  # dead letters written in the bucket, by service


@dataclass(frozen=True)
class TrendSample:
    at: float  # epoch seconds
    throughput: dict[str, float]  # processor -> consumed per second
    lag: dict[str, int]  # processor -> messages behind
    dead_letters: dict[str, int] | None  # service -> dead letters so far; None while reading


def sample(
    processors: Iterable[ProcessorView], dead_letters_by_service: dict[str, int] | None, at: float
) -> TrendSample:
    """What the charts keep of one moment: each processor's rate and lag, and the dead letters
    by service (None while the console is still reading the dead-letter topic)."""
    throughput: dict[str, float] = {}
    lag: dict[str, int] = {}
    for p in processors:
        name = p.name  # unique: a processor's name begins with its service's
        if p.consumed_per_second is not None:
            throughput[name] = p.consumed_per_second
        if p.lag is not None:
            lag[name] = p.lag
    letters = dict(dead_letters_by_service) if dead_letters_by_service is not None else None
    return TrendSample(at, throughput, lag, letters)


class Trends:
    def __init__(self, window_seconds: float = 3600.0, buckets: int = 60) -> None:
        self.window_seconds = window_seconds
        self.bucket_seconds = window_seconds / buckets
        self._samples: deque[TrendSample] = deque()

    def record(self, sample: TrendSample) -> None:
        self._samples.append(sample)
        while self._samples and sample.at - self._samples[0].at > self.window_seconds:
            self._samples.popleft()

    def series(self, metric: Metric, now: float, most: int = 8) -> TrendLines:
        """name -> [(minutes before now, value)] per bucket, oldest first; at most `most` names
        (the largest peaks), the rest summed as "others"."""
        buckets = self._buckets(now)
        if metric == DEAD_LETTERS:
            lines = _new_per_bucket(buckets)
        else:
            fold: Callable[[Iterable[float]], float] = max if metric == LAG else _mean
            lines = {}
            for start, samples in buckets:
                values: dict[str, list[float]] = {}
                for s in samples:
                    for name, value in (s.lag if metric == LAG else s.throughput).items():
                        values.setdefault(name, []).append(float(value))
                for name, vs in values.items():
                    lines.setdefault(name, []).append((start, fold(vs)))
        return _top(lines, most)

    def lines(self, now: float) -> dict[Metric, TrendLines]:
        return {metric: self.series(metric, now) for metric in (THROUGHPUT, LAG, DEAD_LETTERS)}

    def as_document(self, now: float) -> dict[str, Any]:
        return {
            "window_seconds": self.window_seconds,
            "bucket_seconds": self.bucket_seconds,
            "samples": len(self._samples),
            **{
                metric: {
                    name: [list(p) for p in points]
                    for name, points in self.series(metric, now).items()
                }
                for metric in (THROUGHPUT, LAG, DEAD_LETTERS)
            },
        }

    def _buckets(self, now: float) -> list[tuple[float, list[TrendSample]]]:
        """(minutes before now of the bucket's end, its samples), for buckets that have any."""
        grouped: dict[int, list[TrendSample]] = {}
        for s in self._samples:
            age = now - s.at
            if 0 <= age <= self.window_seconds:
                grouped.setdefault(int(age // self.bucket_seconds), []).append(s)
        return [
            (-(index * self.bucket_seconds) / 60, grouped[index])
            for index in sorted(grouped, reverse=True)
        ]


def _mean(values: Iterable[float]) -> float:
    listed = list(values)
    return sum(listed) / len(listed)


def _new_per_bucket(
    buckets: list[tuple[float, list[TrendSample]]],
) -> TrendLines:
    """Dead letters written in each bucket: the count at its end less the count before it."""
    lines: TrendLines = {}
    before: dict[str, int] | None = None
    for start, samples in buckets:
        counted = [s.dead_letters for s in samples if s.dead_letters is not None]
        if not counted:
            continue
        first, last = before if before is not None else counted[0], counted[-1]
        for service in sorted(set(first) | set(last)):
            new = max(0, last.get(service, 0) - first.get(service, 0))
            lines.setdefault(service, []).append((start, float(new)))
        before = last
    return lines


def _top(lines: TrendLines, most: int) -> TrendLines:
    ranked = sorted(lines, key=lambda name: (-max(v for _, v in lines[name]), name))
    kept = {name: lines[name] for name in ranked[:most]}
    rest = ranked[most:]
    if rest:
        others: dict[float, float] = {}
        for name in rest:
            for x, v in lines[name]:
                others[x] = others.get(x, 0.0) + v
        kept["others"] = sorted(others.items())
    return kept
