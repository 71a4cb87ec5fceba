"""The policy service's HTTP routes: propose, list, impact, approve, withdraw (interfaces.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from contracts.topics import TopicNames
from events.policy import PolicyVersionApproved, PolicyVersionWithdrawn
from services.policy.domain.lifecycle import Refusal, check_approval, check_withdrawal
from services.policy.domain.proposal import ProposalRefused, VersionBody, resolve
from services.policy.handler import PolicyHandler
from services.policy.impacts import ImpactRunner
from services.policy.page_routes import install_pages
from services.policy.publishing import (
    PolicyPayload,
    Publisher,
    policy_event,
    publish_policy_event,
)
from services.policy.reading import Clock, PolicyReader
from services.policy.settings import PolicyPageSettings
from services.policy.views import ImpactProgress, ImpactView, VersionView
from services.runtime.auth import ROLES, Principal, TokenStore, require
from services.runtime.errors import install_error_handlers
from services.runtime.logging import get_logger
from services.runtime.openapi import errors

log = get_logger()


class Withdrawal(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


@dataclass
class PolicyDeps:
    tokens: TokenStore
    publisher: Publisher
    topics: TopicNames
    state: Callable[[], PolicyHandler | None]  # None until the processor has caught up
    clock: Clock
    impacts: ImpactRunner
    pages: PolicyPageSettings = field(default_factory=PolicyPageSettings)


def create_app(deps: PolicyDeps) -> FastAPI:
    app = FastAPI(
        title="assist policy",
        version="1",
        description="Policy versions: propose, see the impact, approve by a second person, "
        "withdraw (over-time.md). Pages for policy makers and auditors: /versions.",
    )
    install_error_handlers(app)
    anyone = Depends(require(deps.tokens, *sorted(ROLES), "department"))
    policy_only = Depends(require(deps.tokens, "policy"))
    impact_readers = Depends(require(deps.tokens, "policy", "auditor"))
    # Checks and publishing of one decision are not interleaved with another's.
    deciding = asyncio.Lock()

    reader = PolicyReader(deps.state, deps.clock, deps.impacts)
    state, today, record, view = reader.state, reader.today, reader.record, reader.view

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
        return reader.versions()

    @app.get(
        "/v1/policy/versions/{policy_version}",
        response_model=VersionView,
        tags=["policy"],
        summary="One version and its status",
        responses=errors(404, 503, s404="No policy version of that name"),
    )
    async def get_version(policy_version: str, principal: Principal = anyone) -> VersionView:
        return reader.version(policy_version)

    @app.get(
        "/v1/policy/versions/{policy_version}/impact",
        response_model=ImpactView,
        tags=["policy"],
        summary="What the version would change, over every open household (writes nothing)",
        responses=errors(404, 503, s404="No policy version of that name"),
    )
    async def impact(policy_version: str, principal: Principal = impact_readers) -> Any:
        return await reader.impact(policy_version, principal.user)

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
        return reader.progress(policy_version)

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

    install_pages(app, deps.tokens, reader, deps.pages)
    return app
