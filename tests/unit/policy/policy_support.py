"""The policy service's parts with fakes: a fixed clock, a publisher that records, households
made by the real loop's handlers and fed to the policy handler as its processor would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from support.loop import ON, TOPICS, Loop

from events.clock import ClockMode
from events.envelope import Envelope
from events.policy import PolicyVersionApproved
from services.policy.app import PolicyDeps, create_app
from services.policy.handler import PolicyHandler
from services.policy.impacts import ImpactRunner
from services.policy.publishing import policy_event
from services.policy.settings import PolicyPageSettings
from services.rules.standards import SHIPPED_BY, shipped_proposal
from services.runtime.auth import TokenStore
from services.runtime.clock import ClockSettings, ClockView
from services.runtime.messages import Inbound

TODAY = ON.date()  # 2026-06-01, under the shipped version 2026-01
NEXT_MONTH = date(2026, 7, 1)
USERS = {
    "policy.chen": "policy",
    "policy.liu": "policy",
    "auditor.li": "auditor",
    "clerk.wang": "intake",
    "operator.zhao": "operator",
    "education.desk": "department:education",
}
TOKENS = TokenStore.parse([{"user": u, "role": r, "token": f"t-{u}"} for u, r in USERS.items()])


@dataclass
class FixedClock:
    at: datetime = ON

    def now(self) -> datetime:
        return self.at

    def today(self) -> date:
        return self.at.date()

    def advance(self, days: int) -> None:
        self.at += timedelta(days=days)


@dataclass
class FakePublisher:
    """Records what would have gone to Kafka."""

    sent: list[tuple[str, Envelope, bytes | None]] = field(default_factory=list)

    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        self.sent.append((topic, event, key))

    @property
    def payloads(self) -> list[Any]:
        return [event.payload for _, event, _ in self.sent]


class PolicyState:
    """A policy handler fed like its processor: the shipped version, then whatever is given."""

    def __init__(self) -> None:
        self.handler = PolicyHandler(TOPICS, ClockView(ClockSettings(clock=ClockMode.WALL)))
        self._offsets: dict[str, int] = {}
        proposal = shipped_proposal()
        for payload in (
            proposal,
            PolicyVersionApproved(policy_version=proposal.policy_version, approved_by=SHIPPED_BY),
        ):
            self.policy(policy_event(payload, datetime(2026, 1, 1, tzinfo=UTC)))

    def policy(self, event: Envelope) -> None:
        self._feed(TOPICS.policy, event.to_bytes(), None)

    def chain_of(self, loop: Loop) -> None:
        """Every chain message of `loop` not fed yet."""
        for value in loop.log.get(TOPICS.chain, [])[self._offsets.get(TOPICS.chain, 0) :]:
            key = _household_key(value)
            self._feed(TOPICS.chain, value, key)

    def _feed(self, topic: str, value: bytes, key: bytes | None) -> None:
        offset = self._offsets.get(topic, 0)
        self._offsets[topic] = offset + 1
        self.handler.handle(Inbound(topic, 0, offset, key, value), replaying=False)


def _household_key(value: bytes) -> bytes | None:
    start = value.find(b'"household_id":"')
    if start < 0:
        return None
    start += len(b'"household_id":"')
    return value[start : value.find(b'"', start)]


@dataclass
class Service:
    client: TestClient
    publisher: FakePublisher
    state: PolicyState
    clock: FixedClock

    def call(self, method: str, path: str, user: str | None = "policy.chen", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer t-{user}"} if user else {}
        return self.client.request(method, path, headers=headers, **kwargs)

    def propose(self, body: dict[str, Any], user: str = "policy.chen") -> Any:
        return self.call("POST", "/v1/policy/versions", user, json=body)

    def approve(self, name: str, user: str = "policy.liu") -> Any:
        return self.call("POST", f"/v1/policy/versions/{name}/approval", user)

    def withdraw(self, name: str, user: str = "policy.chen", **body: Any) -> Any:
        return self.call("POST", f"/v1/policy/versions/{name}/withdrawal", user, json=body or None)

    def impact(self, name: str, user: str = "policy.chen") -> Any:
        return self.call("GET", f"/v1/policy/versions/{name}/impact", user)


def make_service(
    state: PolicyState | None = None,
    ready: bool = True,
    pages: PolicyPageSettings | None = None,
) -> Service:
    state = state or PolicyState()
    publisher, clock = FakePublisher(), FixedClock()
    app = create_app(
        PolicyDeps(
            TOKENS,
            publisher,
            TOPICS,
            lambda: state.handler if ready else None,
            clock,
            ImpactRunner(),
            pages or PolicyPageSettings(),
        )
    )
    return Service(TestClient(app), publisher, state, clock)


def version_body(
    name: str = "2026-07", effective_from: date | str = NEXT_MONTH, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "policy_version": name,
        "effective_from": str(effective_from),
        "regions": [{"region_code": "330100", "dibao_standard": "1400"}],
    }
    return body | fields
