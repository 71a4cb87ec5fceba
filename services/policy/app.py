"""The policy service's HTTP routes: propose, list, impact, approve, withdraw (interfaces.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Protocol

from fastapi import Body, Depends, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from contracts.topics import TopicNames
from events.policy import PolicyVersionApproved, PolicyVersionWithdrawn
from services.policy.domain.lifecycle import Refusal, check_approval, check_withdrawal
from services.policy.domain.proposal import ProposalRefused, VersionBody, resolve
from services.policy.handler import PolicyHandler
from services.policy.impacts import ImpactJob, ImpactRunner
from services.policy.publishing import (
    PolicyPayload,
    Publisher,
    policy_event,
    publish_policy_event,
)
from services.policy.versions import VersionRecord
from services.runtime.auth import ROLES, Principal, TokenStore, require
from services.runtime.clock import ClockNotKnown
from services.runtime.errors import install_error_handlers
from services.runtime.logging import get_logger
from services.runtime.openapi import errors

log = get_logger()
RETRY = {"Retry-After": "1"}  # a 503 here lasts until the topics are read or the clock ticks


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class VersionView(BaseModel):
    """A version, its status and decisions, and the whole table it puts in force."""

    policy_version: str
    status: str
    effective_from: date
    based_on: str | None
    note: str | None
    proposed_by: str
    proposed_at: str
    approved_by: str | None
    approved_at: str | None
    withdrawn_by: str | None
    withdrawn_at: str | None
    withdrawal_reason: str | None
    regions: list[dict[str, Any]]
    service_level_days: dict[str, int]


class Withdrawal(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class RegionImpactView(BaseModel):
    region_code: str
    tiers: dict[str, int]  # "OLD->NEW": households whose tier changes
    referrals_issued: dict[str, int]
    referrals_withdrawn: dict[str, int]
    minimum_living_gap_before: str  # CNY a month
    minimum_living_gap_after: str


class ImpactView(BaseModel):
    """The shadow run of a version (interfaces.md)."""

    policy_version: str
    effective_from: date
    households: int
    regions: list[RegionImpactView]


class ImpactProgress(BaseModel):
    done: int
    total: int
    running: bool


@dataclass
class PolicyDeps:
    tokens: TokenStore
    publisher: Publisher
    topics: TopicNames
    state: Callable[[], PolicyHandler | None]  # None until the processor has caught up
    clock: Clock
    impacts: ImpactRunner


def create_app(deps: PolicyDeps) -> FastAPI:
    app = FastAPI(
        title="assist policy",
        version="1",
        description="Policy versions: propose, see the impact, approve by a second person, "
        "withdraw (over-time.md).",
    )
    install_error_handlers(app)
    anyone = Depends(require(deps.tokens, *sorted(ROLES), "department"))
    policy_only = Depends(require(deps.tokens, "policy"))
    impact_readers = Depends(require(deps.tokens, "policy", "auditor"))
    # Checks and publishing of one decision are not interleaved with another's.
    deciding = asyncio.Lock()

    def state() -> PolicyHandler:
        current = deps.state()
        if current is None:
            raise HTTPException(
                503, "policy is still reading its topics; try again shortly", headers=RETRY
            )
        return current

    def today() -> date:
        try:
            return deps.clock.today()
        except ClockNotKnown as error:
            raise HTTPException(503, f"{error}; try again shortly", headers=RETRY) from None

    def record(current: PolicyHandler, name: str) -> VersionRecord:
        found = current.versions.records.get(name)
        if found is None:
            raise HTTPException(404, f"no policy version {name!r}")
        return found

    def view(current: PolicyHandler, found: VersionRecord) -> VersionView:
        proposal = found.proposal
        return VersionView(
            policy_version=found.name,
            status=current.versions.status(found.name, today()).value,
            effective_from=proposal.effective_from,
            based_on=proposal.based_on,
            note=proposal.note,
            proposed_by=proposal.proposed_by,
            proposed_at=found.proposed_at,
            approved_by=found.approved_by,
            approved_at=found.approved_at,
            withdrawn_by=found.withdrawn_by,
            withdrawn_at=found.withdrawn_at,
            withdrawal_reason=found.withdrawal_reason,
            regions=[r.model_dump(mode="json") for r in proposal.regions],
            service_level_days={str(d): n for d, n in sorted(proposal.service_level_days.items())},
        )

    async def publish(current: PolicyHandler, payload: PolicyPayload) -> None:
        event = policy_event(payload, deps.clock.now())
        await publish_policy_event(deps.publisher, deps.topics.policy, event)
        current.fold_policy(event)  # a following request sees it at once

    @app.post(
        "/v1/policy/versions",
        status_code=201,
        response_model=VersionView,
        tags=["policy"],
        summary="Propose a version (422 naming the field when it cannot be)",
        responses=errors(503),
    )
    async def propose(body: VersionBody, principal: Principal = policy_only) -> VersionView:
        async with deciding:
            current = state()
            try:
                proposal = resolve(
                    body, current.versions.book, current.versions.records, today(), principal.user
                )
            except ProposalRefused as refused:
                raise RequestValidationError(
                    [
                        {"loc": ("body", *p.loc), "msg": p.message, "type": "value_error"}
                        for p in refused.problems
                    ]
                ) from None
            await publish(current, proposal)
        log.info(
            "policy version proposed",
            policy_version=proposal.policy_version,
            effective_from=proposal.effective_from.isoformat(),
            user=principal.user,
        )
        return view(current, record(current, proposal.policy_version))

    @app.get(
        "/v1/policy/versions",
        response_model=list[VersionView],
        tags=["policy"],
        summary="Every version and its status",
        responses=errors(503),
    )
    async def list_versions(principal: Principal = anyone) -> list[VersionView]:
        current = state()
        records = sorted(
            current.versions.records.values(),
            key=lambda r: (r.proposal.effective_from, r.name),
        )
        return [view(current, r) for r in records]

    @app.get(
        "/v1/policy/versions/{policy_version}",
        response_model=VersionView,
        tags=["policy"],
        summary="One version and its status",
        responses=errors(404, 503, s404="No policy version of that name"),
    )
    async def get_version(policy_version: str, principal: Principal = anyone) -> VersionView:
        current = state()
        return view(current, record(current, policy_version))

    @app.get(
        "/v1/policy/versions/{policy_version}/impact",
        response_model=ImpactView,
        tags=["policy"],
        summary="What the version would change, over every open household (writes nothing)",
        responses=errors(404, 503, s404="No policy version of that name"),
    )
    async def impact(policy_version: str, principal: Principal = impact_readers) -> Any:
        current = state()
        found = record(current, policy_version)

        def job() -> ImpactJob:
            return ImpactJob.of(current.versions.book, found, current.households.snapshot())

        log.info("impact asked", policy_version=policy_version, user=principal.user)
        return await deps.impacts.report(policy_version, current.fingerprint(), job)

    @app.get(
        "/v1/policy/versions/{policy_version}/impact/progress",
        response_model=ImpactProgress,
        tags=["policy"],
        summary="How far the impact's run has got",
        responses=errors(404, 503, s404="No policy version of that name"),
    )
    async def impact_progress(
        policy_version: str, principal: Principal = impact_readers
    ) -> ImpactProgress:
        record(state(), policy_version)
        return ImpactProgress(**deps.impacts.progress(policy_version).document())

    @app.post(
        "/v1/policy/versions/{policy_version}/approval",
        response_model=VersionView,
        tags=["policy"],
        summary="Approve a version (a second person: the proposer gets 403)",
        responses=errors(
            404,
            409,
            503,
            s404="No policy version of that name",
            s409="Withdrawn, already approved, or its date has passed",
        ),
    )
    async def approve(policy_version: str, principal: Principal = policy_only) -> VersionView:
        async with deciding:
            current = state()
            found = record(current, policy_version)
            status = current.versions.status(policy_version, today())
            try:
                check_approval(found, status, principal.user, today())
            except Refusal as refusal:
                raise HTTPException(refusal.status_code, refusal.reason) from None
            payload = PolicyVersionApproved(
                policy_version=policy_version, approved_by=principal.user
            )
            await publish(current, payload)
        log.info("policy version approved", policy_version=policy_version, user=principal.user)
        return view(current, found)

    @app.post(
        "/v1/policy/versions/{policy_version}/withdrawal",
        response_model=VersionView,
        tags=["policy"],
        summary="Withdraw a version that has not taken effect (409 once it has)",
        responses=errors(
            404,
            409,
            503,
            s404="No policy version of that name",
            s409="Already withdrawn, or in force",
        ),
    )
    async def withdraw(
        policy_version: str,
        body: Annotated[Withdrawal | None, Body()] = None,
        principal: Principal = policy_only,
    ) -> VersionView:
        async with deciding:
            current = state()
            found = record(current, policy_version)
            try:
                check_withdrawal(found, current.versions.status(policy_version, today()))
            except Refusal as refusal:
                raise HTTPException(refusal.status_code, refusal.reason) from None
            payload = PolicyVersionWithdrawn(
                policy_version=policy_version,
                withdrawn_by=principal.user,
                reason=body.reason if body else None,
            )
            await publish(current, payload)
        log.info("policy version withdrawn", policy_version=policy_version, user=principal.user)
        return view(current, found)

    return app
