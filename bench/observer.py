"""Watching what the departments receive, in a process of its own.

The observer reads every `assist.referrals.<dept>` topic (committed transactions only, as a
department would) and the dead-letter topic, and stamps each message with the wall clock when
it arrived. It runs as its own process (`python -m bench.observer`) so that the load the
benchmark offers from its own event loop does not delay the observation; it reports on stdout
as JSON lines, which `Observer` reads back in the benchmark process.

It is one of the benchmark's instruments, not a part of the system: it logs in as the
administrator (every department's topic and the dead letters at once, which no principal of
contracts/access.py may read), the login passed in its environment (KAFKA_*), never on its
command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.expected import Referral
from bench.stack import BenchError
from bench.verdict import ISSUED, Delivery
from contracts.topics import TopicNames
from events.types import Department
from services.runtime.kafka import connection_options, partitions_of
from services.runtime.settings import KafkaSettings


def watched_topics(topics: TopicNames) -> list[str]:
    return [topics.referrals(d) for d in Department] + [topics.deadletter]


async def watched_ends(kafka: KafkaSettings, topics: TopicNames) -> dict[str, int]:
    """End offsets (committed transactions) of every watched partition, as observer keys:
    what `Observer.caught_up` waits for."""
    consumer = AIOKafkaConsumer(**connection_options(kafka), isolation_level="read_committed")
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in watched_topics(topics):
            partitions += await partitions_of(consumer, topic)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {f"{tp.topic}/{tp.partition}": end for tp, end in ends.items()}


# -- the observing process ----------------------------------------------------------------------


async def _observe(kafka: KafkaSettings, namespace: str) -> None:
    topics = TopicNames(namespace)
    consumer = AIOKafkaConsumer(
        **connection_options(kafka),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        # The broker answers a waiting fetch as soon as a commit makes records readable, so the
        # default wait (500 ms) costs no precision: measured, arrivals match a 20 ms wait's
        # within 0.2 ms at p90, with far fewer idle fetches loading the broker.
    )
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in watched_topics(topics):
            partitions += await partitions_of(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        _emit({"ready": True})
        reported: dict[str, int] = {}
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            at = time.time()
            deliveries, letters = [], []
            for tp, records in batches.items():
                for record in records:
                    document = _parsed(record.value)
                    if tp.topic == topics.deadletter:
                        letters.append(f"{document.get('service')}: {document.get('reason')}")
                        continue
                    if document.get("event_type") == "FeedbackRefused":
                        continue  # a refused answer told back: no referral delivered
                    payload = document.get("payload") or {}
                    deliveries.append(
                        [
                            str(document.get("household_id")),
                            str(document.get("event_type")),
                            str(payload.get("program")),
                            str(payload.get("department")),
                            at,
                        ]
                    )
            if deliveries:
                _emit({"d": deliveries})
            if letters:
                _emit({"dl": letters})
            positions = {
                f"{tp.topic}/{tp.partition}": await consumer.position(tp) for tp in partitions
            }
            if positions != reported:
                _emit({"pos": positions})
                reported = positions
    finally:
        await consumer.stop()


def _parsed(value: bytes | None) -> dict[str, Any]:
    """The JSON object of a message; a message that is none is counted, never a crash."""
    try:
        document = json.loads(value or b"")
    except ValueError:
        return {"event_type": "unparseable message", "reason": "unparseable message"}
    return document if isinstance(document, dict) else {"event_type": "not a JSON object"}


def _emit(message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--namespace", required=True)
    args = parser.parse_args()
    kafka = KafkaSettings()  # KAFKA_BOOTSTRAP_SERVERS, KAFKA_SASL_* from the environment
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_observe(kafka, args.namespace))


# -- the benchmark's side -----------------------------------------------------------------------


class Observer:
    """The observing process, and what it has seen so far."""

    def __init__(self, kafka: KafkaSettings, namespace: str) -> None:
        """`kafka`: the administrator's login (the benchmark's instrument, see above)."""
        self._args = ["--namespace", namespace]
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")},
            **kafka.environment(),
        }
        self.deliveries: list[Delivery] = []
        self.dead_letters: list[str] = []
        self.positions: dict[str, int] = {}
        self.done_at: dict[str, float] = {}  # household -> arrival of its last expected referral
        self._pending: dict[str, set[Referral]] = {}
        self._changed = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._gone: str | None = None  # why the observing process is no longer reporting

    async def start(self, timeout: float = 60) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.observer",
            *self._args,
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise BenchError(f"the observer did not start in {timeout:.0f}s") from None
        self._check()

    def expect(self, expected: dict[str, frozenset[Referral]]) -> None:
        """Households whose referrals to wait for (those with none are done at once)."""
        for household_id, referrals in expected.items():
            if referrals:
                self._pending[household_id] = set(referrals)
        for d in self.deliveries:  # anything that came before it was expected
            self._take(d)

    async def wait_done(
        self,
        households: Iterable[str],
        timeout: float,
        stall: float = 90,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        """Until every household of `households` has all its referrals; fail on a stall."""
        wanted = [h for h in households if h in self._pending or h in self.done_at]
        deadline = time.monotonic() + timeout
        last_count, last_change = -1, time.monotonic()
        while True:
            self._check()
            count = sum(1 for h in wanted if h in self.done_at)
            if on_progress:
                on_progress(count)
            if count == len(wanted):
                return
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            now = time.monotonic()
            if now > deadline or now - last_change > stall:
                missing = [h for h in wanted if h not in self.done_at]
                why = "timed out" if now > deadline else f"no progress for {stall:.0f}s"
                raise BenchError(
                    f"{why}: {len(missing)} of {len(wanted)} households still miss referrals, "
                    f"e.g. {', '.join(missing[:10])}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    async def caught_up(self, ends: dict[str, int], timeout: float = 60) -> None:
        """Until the observer has read every watched partition up to `ends`."""
        deadline = time.monotonic() + timeout
        while any(self.positions.get(tp, 0) < end for tp, end in ends.items()):
            self._check()
            if time.monotonic() > deadline:
                behind = {
                    tp: (self.positions.get(tp, 0), end)
                    for tp, end in ends.items()
                    if self.positions.get(tp, 0) < end
                }
                raise BenchError(f"the observer did not catch up in {timeout:.0f}s: {behind}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def _check(self) -> None:
        if self._gone is not None:
            raise BenchError(f"the observer stopped: {self._gone}")

    async def _read(self) -> None:
        try:
            await self._read_lines()
        except Exception as error:  # noqa: BLE001 - reported to whoever waits next
            self._gone = f"{type(error).__name__}: {error}"
        else:
            code = await self._process.wait() if self._process else None
            self._gone = f"exit status {code} (its traceback is on stderr above)"
        self._ready.set()
        self._changed.set()

    async def _read_lines(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            message = json.loads(line)
            if "ready" in message:
                self._ready.set()
            for household_id, event_type, program, department, at in message.get("d", ()):
                delivery = Delivery(household_id, event_type, program, department, at)
                self.deliveries.append(delivery)
                self._take(delivery)
            self.dead_letters += message.get("dl", [])
            self.positions.update(message.get("pos", {}))
            self._changed.set()

    def _take(self, d: Delivery) -> None:
        pending = self._pending.get(d.household_id)
        if pending is None or d.event_type != ISSUED:
            return
        pending.discard((d.program, d.department))
        if not pending:
            del self._pending[d.household_id]
            self.done_at[d.household_id] = d.at


if __name__ == "__main__":
    main()
