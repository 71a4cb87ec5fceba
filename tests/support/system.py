"""The whole system as separate processes on the real broker, for end-to-end tests.

Tests talk to it only as its users do: over HTTP with bearer tokens, and by reading topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from contracts.topics import TopicNames
from deploy.local.stack import LOOP_SERVICES
from deploy.local.tokens import ensure_tokens, role_tokens, token_of
from events.identity import make_resident_id
from services.chainwriter.signing_key import ensure_writer_key
from services.runtime.pseudonym import ensure_key_file
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics
from support.kafka_io import read_documents
from support.logins import logins_of
from support.processes import ServiceProcess

_serial = itertools.count(1)


@contextlib.contextmanager
def running_system(
    kafka_bootstrap: str, workdir: Path, paired: Collection[str] = ()
) -> Iterator[System]:
    """The whole system on topics of its own (3 partitions each), until the block ends."""
    kafka = logins_of(kafka_bootstrap).admin
    topics = TopicNames(f"e{uuid.uuid4().hex[:10]}.")
    asyncio.run(ensure_topics(kafka, TopicSettings(namespace=topics.namespace, partitions=3)))
    running = System(kafka, topics, workdir, paired)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def new_person(birth: date, region: str = "330100") -> str:
    """A valid resident id no other test uses (random birth day within the year)."""
    n = next(_serial)
    shifted = birth.replace(day=1 + (n + random.randrange(27)) % 28)  # noqa: S311
    return make_resident_id(region, shifted, n % 1000)


class System:
    def __init__(
        self,
        kafka: KafkaSettings,
        topics: TopicNames,
        workdir: Path,
        paired: Collection[str] = (),
    ) -> None:
        """Every service of the loop, once; a second instance of each service in `paired`
        (`partners`), sharing its processor's partitions with the first."""
        self.kafka = kafka
        self.topics = topics
        self.tokens_file = ensure_tokens(workdir / "tokens.json")
        self.tokens = role_tokens(self.tokens_file)
        # The secret of the keyed pseudonyms in Kafka keys, as `make run` writes one.
        self.pseudonym_key_file = ensure_key_file(workdir / "pseudonym.key")
        # The chain writer's key, before the audit starts: it checks every append's signature.
        self.writer_key = ensure_writer_key(workdir / "data")
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "ASSIST_TOPIC_NAMESPACE": topics.namespace,
            "ASSIST_TOKENS_FILE": str(workdir / "tokens.json"),
            "ASSIST_PSEUDONYM_KEY_FILE": str(self.pseudonym_key_file),
            "ASSIST_OVERDUE_CHECK_SECONDS": "0.5",
            "ASSIST_DATA_DIR": str(workdir / "data"),
            # Time moves only when a test advances it (interfaces.md: the manual clock).
            "ASSIST_CLOCK": "manual",
        }
        self.env, self.workdir = env, workdir
        self.services = {name: ServiceProcess(name, env, workdir) for name in LOOP_SERVICES}
        self.partners = {name: self.instance(name, "1") for name in paired}

    def instance(self, name: str, instance: str) -> ServiceProcess:
        """Another instance of `name` (not started): a data directory of its own, with the
        chain writer's key that every instance shares (a deployment mounts the one secret into
        each)."""
        home = self.workdir / f"instance-{instance}"
        data = home / "data"
        shutil.copytree(
            self.workdir / "data" / "chainwriter", data / "chainwriter", dirs_exist_ok=True
        )
        own = self.env | {"ASSIST_INSTANCE": instance, "ASSIST_DATA_DIR": str(data)}
        return ServiceProcess(name, own, home)

    @property
    def processes(self) -> list[ServiceProcess]:
        return [*self.services.values(), *self.partners.values()]

    def start(self) -> System:
        for service in self.processes:
            service.start()
        for service in self.processes:
            service.wait_healthy(timeout=90)
        return self

    def stop(self) -> None:
        for service in self.processes:
            service.stop()

    def url(self, service: str) -> str:
        return self.services[service].url

    def headers(self, role: str, user: str | None = None) -> dict[str, str]:
        token = token_of(self.tokens_file, role, user) if user else self.tokens[role]
        return {"Authorization": f"Bearer {token}"}

    # -- the clock and policy versions --------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        reply = httpx.get(
            f"{self.url('scheduler')}/v1/clock", headers=self.headers("operator"), timeout=30
        )
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    def today(self) -> date:
        return date.fromisoformat(self.clock()["today"])

    def advance(self, *, days: int | None = None, to: date | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"days": days} if days is not None else {"to": str(to)}
        reply = httpx.post(
            f"{self.url('scheduler')}/v1/clock/advance",
            json=body,
            headers=self.headers("operator"),
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    def policy(
        self, method: str, path: str, role: str = "policy", user: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url('policy')}/v1/policy{path}",
            headers=self.headers(role, user),
            timeout=120,
            **kwargs,
        )

    # -- users' requests ---------------------------------------------------------------------
    def apply(self, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = self.headers("intake") | ({"Idempotency-Key": key} if key else {})
        return httpx.post(
            f"{self.url('intake')}/v1/applications", json=body, headers=headers, timeout=30
        )

    def signal(self, body: dict[str, Any]) -> httpx.Response:
        """A signal sent by its source department's token (a department speaks only as itself)."""
        role = f"department:{body.get('source_department')}"
        return httpx.post(
            f"{self.url('intake')}/v1/signals",
            json=body,
            headers=self.headers(role if role in self.tokens else "department:medical_security"),
            timeout=30,
        )

    def visit(self, visit_id: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.url('intake')}/v1/visits/{visit_id}",
            json=body,
            headers=self.headers("intake"),
            timeout=30,
        )

    def feedback(
        self, referral_id: str, department: str, body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        headers = self.headers(f"department:{department}") | (
            {"Idempotency-Key": key} if key else {}
        )
        return httpx.post(
            f"{self.url('feedback')}/v1/referrals/{referral_id}/feedback",
            json=body,
            headers=headers,
            timeout=30,
        )

    def referrals(self, role: str, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url('feedback')}/v1/referrals",
            params=params,
            headers=self.headers(role),
            timeout=30,
        )

    # -- what the topics say -----------------------------------------------------------------
    async def read_chain(self) -> list[dict[str, Any]]:
        return await read_documents(self.kafka, self.topics.chain)

    async def chain_of(self, household_id: str) -> list[dict[str, Any]]:
        documents = await read_documents(self.kafka, self.topics.chain)
        return sorted(
            (d for d in documents if d["household_id"] == household_id), key=lambda d: d["sequence"]
        )

    async def department_topic(self, department: str) -> list[dict[str, Any]]:
        """The referral events a department received (not the refusals of its answers)."""
        documents = await read_documents(self.kafka, self.topics.referrals(department))
        return [d for d in documents if d.get("event_type") != "FeedbackRefused"]

    async def wait_until(self, probe: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
        """Poll an async probe until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = await probe()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.5)

    async def wait_chain(
        self,
        household_id: str,
        predicate: Callable[[list[dict[str, Any]]], bool],
        what: str,
        timeout: float = 60.0,
    ) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            chain = await self.chain_of(household_id)
            return chain if predicate(chain) else None

        result: list[dict[str, Any]] = await self.wait_until(
            probe, f"{household_id}: {what}", timeout
        )
        return result


def of_type(chain: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [d for d in chain if d["event_type"] == event_type]
