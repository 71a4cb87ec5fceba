"""Households entering through the intake API, as clerks' clients would send them.

Two ways to offer load: closed loop (a fixed number of clients, each sending its next
application when the previous one was accepted: as fast as intake takes them) and open loop
(applications sent on a fixed schedule whatever the answers, so a slow system meets the same
arrivals and its queueing shows in the latencies instead of slowing the arrivals down).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from bench.policy_client import retry_after
from bench.stack import BenchError
from bench.workload import Household

Progress = Callable[[int], None]
RETRY_503_FOR = 60.0  # seconds a 503 is sent again before the benchmark gives up


@dataclass(frozen=True, slots=True)
class Submission:
    household_id: str
    sent_at: float  # wall clock (time.time()), comparable with the observer's stamps
    accepted_at: float  # when the 202 arrived


class IntakeClient:
    def __init__(self, url: str, token: str, connections: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=url,
            timeout=60,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self.retries = 0  # requests sent again after a dropped connection or a 503

    async def close(self) -> None:
        await self._client.aclose()

    async def submit(self, household: Household, body: bytes, attempts: int = 3) -> Submission:
        """POST the application; a dropped connection is retried, and so is a 503 (the broker
        did not confirm in time: nothing recorded) after its Retry-After, as a clerk's client
        would.

        The Idempotency-Key makes a retry the same event (the chain writer drops a repeat), so
        a retry can never give a household its referrals twice: the count check would say so.
        A retried request's wait counts from its first attempt.
        """
        sent = time.time()
        headers = {"Idempotency-Key": household.household_id}
        unavailable_until = time.monotonic() + RETRY_503_FOR
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = await self._client.post("/v1/applications", content=body, headers=headers)
            except httpx.TransportError as error:
                # e.g. a keep-alive connection the server closed just as it was reused
                if attempt >= attempts:
                    raise BenchError(
                        f"intake unreachable for {household.household_id} after "
                        f"{attempts} attempts: {type(error).__name__}: {error}"
                    ) from None
                self.retries += 1
                continue
            if reply.status_code != 503 or time.monotonic() > unavailable_until:
                break
            self.retries += 1
            await asyncio.sleep(retry_after(reply))
        accepted = time.time()
        if reply.status_code != 202:
            raise BenchError(
                f"intake answered {reply.status_code} for {household.household_id}: "
                f"{reply.text[:300]}"
            )
        return Submission(household.household_id, sent, accepted)


def _bodies(households: Sequence[Household]) -> list[bytes]:
    # Serialised before the clock starts: the benchmark measures the system, not itself.
    return [json.dumps(h.body).encode() for h in households]


async def submit_closed(
    url: str,
    token: str,
    households: Sequence[Household],
    concurrency: int,
    on_progress: Progress | None = None,
) -> tuple[list[Submission], int]:
    """`concurrency` clients send every household as fast as intake accepts them; the answers
    and how many requests had to be sent again."""
    bodies = _bodies(households)
    client = IntakeClient(url, token, concurrency)
    results: list[Submission] = []
    queue = iter(range(len(households)))

    async def clerk() -> None:
        for i in queue:  # shared iterator: each index is taken by exactly one clerk
            results.append(await client.submit(households[i], bodies[i]))
            if on_progress:
                on_progress(len(results))

    try:
        await _all_or_nothing([clerk() for _ in range(concurrency)])
    finally:
        await client.close()
    return results, client.retries


async def submit_paced(
    url: str,
    token: str,
    households: Sequence[Household],
    per_second: float,
    on_progress: Progress | None = None,
    max_outstanding: int = 2000,
) -> tuple[list[Submission], int]:
    """Send household i at start + i / per_second, without waiting for earlier answers."""
    bodies = _bodies(households)
    client = IntakeClient(url, token, connections=256)
    results: list[Submission] = []
    outstanding = asyncio.Semaphore(max_outstanding)  # a runaway backlog fails, not hangs

    async def one(i: int) -> None:
        try:
            results.append(await client.submit(households[i], bodies[i]))
            if on_progress:
                on_progress(len(results))
        finally:
            outstanding.release()

    tasks = []
    try:
        start = time.perf_counter()
        for i in range(len(households)):
            delay = start + i / per_second - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await outstanding.acquire()
            tasks.append(asyncio.create_task(one(i)))
        await _all_or_nothing(tasks)
    finally:
        await client.close()
    return results, client.retries


async def _all_or_nothing(aws: Sequence[Awaitable[None]]) -> None:
    """Await all; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
