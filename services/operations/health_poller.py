"""Polling every service's /healthz, and the throughput between two polls.

A service that does not answer, or answers with something that is not a health report, is shown
as such: the console never hides a service it was told to watch.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.runtime.logging import get_logger

log = get_logger()


@dataclass(frozen=True)
class Rate:
    consumed_per_second: float
    produced_per_second: float


@dataclass
class ServiceHealth:
    """The last answer of one service's /healthz."""

    name: str
    url: str
    checked_at: float | None = None
    http_status: int | None = None
    error: str | None = None
    report: dict[str, Any] | None = None
    rates: dict[str, Rate] = field(default_factory=dict)  # processor name -> rate

    @property
    def ready(self) -> bool:
        return self.http_status == 200

    @property
    def processors(self) -> list[dict[str, Any]]:
        found = (self.report or {}).get("processors")
        return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


@dataclass(frozen=True)
class _Counters:
    at: float
    consumed: int
    produced: int


class HealthPoller:
    """Keeps the latest health of every service; `run` polls until cancelled."""

    def __init__(
        self,
        services: dict[str, str],
        client: httpx.AsyncClient,
        poll_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
        rate_window_seconds: float = 5.0,
    ) -> None:
        self.services = {
            name: ServiceHealth(name, url.rstrip("/")) for name, url in services.items()
        }
        self._client = client
        self._poll_seconds = poll_seconds
        self._clock = clock
        # Rates are taken over about one page refresh, not the (shorter) poll interval.
        self._window = rate_window_seconds
        self._history: dict[tuple[str, str], deque[_Counters]] = {}

    def snapshot(self) -> list[ServiceHealth]:
        return list(self.services.values())

    async def run(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self._poll_seconds)

    async def poll_once(self) -> None:
        await asyncio.gather(*(self._poll(health) for health in self.services.values()))

    async def _poll(self, health: ServiceHealth) -> None:
        try:
            reply = await self._client.get(f"{health.url}/healthz")
            report = reply.json()
        except (httpx.HTTPError, ValueError) as error:
            if health.error is None:
                log.warning(
                    "service not answering",
                    target=health.name,
                    url=health.url,
                    error=f"{type(error).__name__}: {error}",
                )
            health.http_status, health.report, health.rates = None, None, {}
            health.error = f"no answer: {type(error).__name__}: {error}".rstrip(": ")
            health.checked_at = self._clock()
            return
        health.checked_at = self._clock()
        health.http_status = reply.status_code
        health.report = report if isinstance(report, dict) else None
        health.error = None if health.report is not None else "not a health report"
        health.rates = self._rates(health)

    def _rates(self, health: ServiceHealth) -> dict[str, Rate]:
        """Messages per second over the last window of polls; none right after a restart."""
        rates: dict[str, Rate] = {}
        now = health.checked_at or self._clock()
        for processor in health.processors:
            name = str(processor.get("name", ""))
            current = _Counters(
                now, _int(processor.get("consumed")), _int(processor.get("produced"))
            )
            history = self._history.setdefault((health.name, name), deque())
            if history and (
                current.consumed < history[-1].consumed or current.produced < history[-1].produced
            ):
                history.clear()  # the service restarted: its counters began again
            history.append(current)
            while len(history) > 2 and now - history[1].at >= self._window:
                history.popleft()
            oldest = history[0]
            if current.at > oldest.at:
                seconds = current.at - oldest.at
                rates[name] = Rate(
                    (current.consumed - oldest.consumed) / seconds,
                    (current.produced - oldest.produced) / seconds,
                )
        return rates


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
