"""The policy service and the scheduler's clock over HTTP, as the benchmark's people ask them.

A policy user proposes a version and reads its impact, a second one approves it, an operator
moves the manual clock to its effective date (services/policy/app.py, services/scheduler).
An answer 503 (a service still reading its topics, a clock tick not yet taken) is asked
again after its Retry-After; any other refusal stops the benchmark with the service's words.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any

import httpx

from bench.stack import BenchError

# The version the benchmark proposes: Hangzhou's minimum living standard raised (1240 -> 1390
# in the shipped standards), so households near the line change tier and referrals.
REGION_CHANGE = {"region_code": "330100", "dibao_standard": "1390"}
RETRY_FOR = 60.0  # seconds a 503 is asked again before the benchmark gives up


def version_name(effective_from: date) -> str:
    return f"bench-{effective_from.isoformat()}"


def proposal_body(today: date) -> dict[str, Any]:
    """The version taking effect the day after the system's `today`."""
    effective_from = today + timedelta(days=1)
    return {
        "policy_version": version_name(effective_from),
        "effective_from": effective_from.isoformat(),
        "regions": [dict(REGION_CHANGE)],
        "note": "benchmark: impact and re-screening of a raised standard",
    }


def retry_after(reply: httpx.Response, default: float = 1.0) -> float:
    """Seconds to wait before asking again, from the answer's Retry-After (bounded)."""
    try:
        seconds = float(reply.headers.get("Retry-After", default))
    except ValueError:
        seconds = default
    return min(max(seconds, 0.1), 10.0)


class PolicyDesk:
    """One HTTP client for both services; each call names whose token it uses."""

    def __init__(self, policy_url: str, scheduler_url: str) -> None:
        self._policy, self._scheduler = policy_url, scheduler_url
        self._http = httpx.AsyncClient(timeout=60)

    async def close(self) -> None:
        await self._http.aclose()

    async def today(self, token: str) -> date:
        clock = await self._call("GET", f"{self._scheduler}/v1/clock", token)
        return date.fromisoformat(clock["today"])

    async def propose(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self._policy}/v1/policy/versions", token, json=body)

    async def approve(self, token: str, name: str) -> dict[str, Any]:
        return await self._call("POST", f"{self._versions(name)}/approval", token)

    async def impact(self, token: str, name: str) -> dict[str, Any]:
        # The answer comes when the run is done: no timeout (the phase watches its progress).
        return await self._call("GET", f"{self._versions(name)}/impact", token, timeout=None)

    async def impact_progress(self, token: str, name: str) -> dict[str, Any]:
        return await self._call("GET", f"{self._versions(name)}/impact/progress", token)

    async def advance(self, token: str, to: date) -> tuple[float, dict[str, Any]]:
        """Move the manual clock to midnight of `to`; (wall clock when the request that did
        it was sent, the answer)."""
        url = f"{self._scheduler}/v1/clock/advance"
        return await self._timed("POST", url, token, json={"to": to.isoformat()})

    def _versions(self, name: str) -> str:
        return f"{self._policy}/v1/policy/versions/{name}"

    async def _call(self, method: str, url: str, token: str, **kwargs: Any) -> dict[str, Any]:
        return (await self._timed(method, url, token, **kwargs))[1]

    async def _timed(
        self, method: str, url: str, token: str, **kwargs: Any
    ) -> tuple[float, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + RETRY_FOR
        while True:
            sent = time.time()
            try:
                reply = await self._http.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as error:
                raise BenchError(
                    f"{method} {url}: {type(error).__name__}: {error or 'no answer'}"
                ) from None
            if reply.status_code == 503 and time.monotonic() < deadline:
                await asyncio.sleep(retry_after(reply))
                continue
            if reply.status_code >= 400:
                raise BenchError(f"{method} {url} answered {reply.status_code}: {reply.text[:500]}")
            body = reply.json()
            if not isinstance(body, dict):
                raise BenchError(f"{method} {url} answered {body!r:.200}, not an object")
            return sent, body
