"""What authentication costs: the raw Kafka baseline with and without it, on the same broker in
the same run.

The benchmark's broker listens twice: on its SASL/SCRAM-SHA-512 listener (every client of the
system) and on an open one (no authentication; its anonymous clients are super users, so no ACL
is evaluated). The loop of bench/baseline.py (the services' producer and consumer options,
produce and consume at once, then consume alone) runs three ways:

* `open`: over the open listener, no login;
* `admin`: over SASL logged in as the administrator, a super user: the cost of authentication
  alone (the broker skips the ACLs of a super user);
* `acl`: over SASL logged in as `chainwriter` on its own `assist.chain` of a namespace of this
  phase (made with its grants by `ensure_topics`, as a deployment does): authentication and
  the ACL check of every produce and fetch, as the services run.

Each way gets a topic of its own with the same partitions and configuration (that of
`assist.chain`). A first round, not counted, warms the broker up (its JIT: the baseline before
is the first load it sees, and figures still rose by half from one round to the next after it);
then the three take turns over a few rounds, each way first in turn. Each figure is the
median of its rounds, and each ratio to the open listener the median of the rounds' ratios (a
way against the open listener of the same round, measured within seconds of it), so the
machine's other load does not fall on one way only. Then the time to start the services'
producer (bootstrap connection with the SCRAM exchange, metadata) and to its first acknowledged
message, started and stopped again and again, the three ways in turn.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import Any

from bench.baseline import Baseline, create_topic, measure_baseline
from bench.stats import summary_ms
from contracts.topics import TopicNames, catalog
from services.runtime.kafka import make_producer
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics, topic_config

PRINCIPAL = "chainwriter"  # reads and writes its assist.chain (contracts/access.py)
# Messages of a round of each way (three ways, five rounds and a warm-up): the run's count
# within these bounds; with fewer, the consume-alone pass takes a few tens of ms, says little.
MIN_MESSAGES, MAX_MESSAGES = 20_000, 50_000
ROUNDS = 5
STARTS = 20  # producer starts of each way
PARTITIONS = 6
FIGURES = ("pipelined_per_second", "produce_per_second", "consume_per_second")

Step = Callable[[str], None]


@dataclass(frozen=True)
class Way:
    name: str
    login: str  # what the report says about who the client is
    kafka: KafkaSettings
    topic: str


async def measure(
    admin: KafkaSettings,
    principal: KafkaSettings,
    open_listener: KafkaSettings,
    count: int,
    size: int,
    step: Step | None = None,
) -> dict[str, Any]:
    """The three ways' figures, their ratios to the open listener's, the producer start times.
    `admin` and `principal` (chainwriter's login) on the SASL listener; `step(what)` is told
    before each measurement."""
    count = max(MIN_MESSAGES, min(count, MAX_MESSAGES))
    namespace = f"benchauth{uuid.uuid4().hex[:8]}."
    settings = TopicSettings(namespace=namespace, partitions=PARTITIONS)
    await ensure_topics(admin, settings)  # the namespace's topics and grants
    chain = TopicNames(namespace).chain
    config = topic_config(next(s for s in catalog(namespace) if s.name == chain), settings)
    ways = [
        Way("open", "none (open listener: no SASL, no ACL)", open_listener, f"{namespace}open"),
        Way("admin", "SCRAM admin (super user: no ACL)", admin, f"{namespace}admin"),
        Way("acl", f"SCRAM {PRINCIPAL} (ACLs checked)", principal, chain),
    ]
    for way in ways[:2]:
        await create_topic(admin, way.topic, PARTITIONS, config=config)
    for way in ways:
        if step:
            step(f"{way.name} warm-up")
        await measure_baseline(way.kafka, way.topic, count // 4, size, PARTITIONS, create=False)
    rounds: dict[str, list[Baseline]] = {way.name: [] for way in ways}
    for turn in range(ROUNDS):
        first = turn % len(ways)
        for way in ways[first:] + ways[:first]:  # each way first in turn
            if step:
                step(f"{way.name} round {turn + 1}")
            measured = await measure_baseline(
                way.kafka, way.topic, count, size, PARTITIONS, create=False
            )
            rounds[way.name].append(measured)
    starts: dict[str, list[float]] = {way.name: [] for way in ways}
    acks: dict[str, list[float]] = {way.name: [] for way in ways}
    for turn in range(STARTS):
        if step:
            step(f"producer starts {turn + 1}/{STARTS}")
        for way in ways:
            started, acked = await _start_producer(way)
            starts[way.name].append(started)
            acks[way.name].append(acked)
    return _figures(ways, rounds, starts, acks, count, size, namespace)


async def _start_producer(way: Way) -> tuple[float, float]:
    """Seconds until the services' producer has started, and until its first message is
    acknowledged (which may need a connection to the partition's leader of its own)."""
    producer = make_producer(way.kafka)
    began = time.perf_counter()
    await producer.start()
    try:
        started = time.perf_counter() - began
        await producer.send_and_wait(way.topic, b"start", key=b"start")
        return started, time.perf_counter() - began
    finally:
        await producer.stop()


def _median_round(measured: list[Baseline]) -> dict[str, float]:
    return {figure: round(median(getattr(b, figure) for b in measured), 1) for figure in FIGURES}


def _paired_ratio(way: list[Baseline], open_: list[Baseline], figure: str) -> float | None:
    """The median over rounds of the way's figure over the open listener's of the same round."""
    ratios = [
        getattr(mine, figure) / getattr(theirs, figure)
        for mine, theirs in zip(way, open_, strict=True)
        if getattr(theirs, figure)
    ]
    return round(median(ratios), 3) if ratios else None


def _figures(
    ways: list[Way],
    rounds: dict[str, list[Baseline]],
    starts: dict[str, list[float]],
    acks: dict[str, list[float]],
    count: int,
    size: int,
    namespace: str,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "messages": count,
        "message_bytes": size,
        "partitions": PARTITIONS,
        "rounds": ROUNDS,
        "namespace": namespace,
    }
    for way in ways:
        found[way.name] = {
            "login": way.login,
            "topic": way.topic,
            **_median_round(rounds[way.name]),
            "ratio_to_open": {
                figure.removesuffix("_per_second"): _paired_ratio(
                    rounds[way.name], rounds["open"], figure
                )
                for figure in FIGURES
            },
            "each_round": [{f: round(getattr(b, f), 1) for f in FIGURES} for b in rounds[way.name]],
            "producer_start": summary_ms(starts[way.name]),
            "producer_first_ack": summary_ms(acks[way.name]),
        }
    return found
