"""What the policy routes read, the same for the JSON routes and the pages: the state once it
is caught up, today, a version and its status, a version's impact and its progress.

A page shows exactly what the API answers because both call these functions; what cannot be
answered is an HTTPException (404, 503) that the JSON routes pass on and the pages render.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from fastapi import HTTPException

from services.policy.handler import PolicyHandler
from services.policy.impacts import ImpactJob, ImpactRunner
from services.policy.views import ImpactProgress, VersionView
from services.rules.versions import VersionRecord
from services.runtime.clock import ClockNotKnown
from services.runtime.logging import get_logger

log = get_logger()
RETRY = {"Retry-After": "1"}  # a 503 here lasts until the topics are read or the clock ticks


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class PolicyReader:
    def __init__(
        self,
        state: Callable[[], PolicyHandler | None],  # None until the processor has caught up
        clock: Clock,
        impacts: ImpactRunner,
    ) -> None:
        self._state = state
        self._clock = clock
        self._impacts = impacts

    def state(self) -> PolicyHandler:
        current = self._state()
        if current is None:
            raise HTTPException(
                503, "policy is still reading its topics; try again shortly", headers=RETRY
            )
        return current

    def today(self) -> date:
        try:
            return self._clock.today()
        except ClockNotKnown as error:
            raise HTTPException(503, f"{error}; try again shortly", headers=RETRY) from None

    def record(self, current: PolicyHandler, name: str) -> VersionRecord:
        found = current.versions.records.get(name)
        if found is None:
            raise HTTPException(404, f"no policy version {name!r}")
        return found

    def view(self, current: PolicyHandler, found: VersionRecord) -> VersionView:
        proposal = found.proposal
        return VersionView(
            policy_version=found.name,
            status=current.versions.status(found.name, self.today()).value,
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

    def versions(self) -> list[VersionView]:
        """Every version, by effective date."""
        current = self.state()
        records = sorted(
            current.versions.records.values(),
            key=lambda r: (r.proposal.effective_from, r.name),
        )
        return [self.view(current, r) for r in records]

    def version(self, name: str) -> VersionView:
        current = self.state()
        return self.view(current, self.record(current, name))

    async def impact(self, name: str, user: str) -> dict[str, Any]:
        """The shadow run of `name` over the state as it is now: kept, joined or started."""
        current = self.state()
        found = self.record(current, name)

        def job() -> ImpactJob:
            return ImpactJob.of(current.versions.book, found, current.households.snapshot())

        log.info("impact asked", policy_version=name, user=user)
        return await self._impacts.report(name, current.fingerprint(), job)

    def progress(self, name: str) -> ImpactProgress:
        self.record(self.state(), name)
        return ImpactProgress(**self._impacts.progress(name).document())
