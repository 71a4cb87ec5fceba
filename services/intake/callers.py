"""Who may send what to intake, and who the event says sent it.

Applications and visit results come from clerks (role intake). Signals and records come from
data providers, which are departments (interfaces.md), each speaking only for itself: the
caller is the source. A clerk's token is not a data provider's: intake registers what
households say, it does not report facts about persons on a department's behalf (issue 13:
intake's token spoke for human_resources).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException

from events.types import Department
from services.runtime.auth import ROLES, Principal, TokenStore, require


def data_provider(tokens: TokenStore) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: 401 without a valid token, 403 unless it is a department's."""
    anyone = Depends(require(tokens, *ROLES, "department"))

    async def dependency(principal: Principal = anyone) -> Principal:
        if principal.department is None:
            raise HTTPException(
                403,
                f"role {principal.role!r} is not a data provider: signals and records are sent "
                "with a department:<id> token, as that department",
            )
        return principal

    return dependency


def speaking_for_itself(principal: Principal, source: Department) -> None:
    """403 unless the body's source_department is the token's own department."""
    if principal.department is not source:
        own = principal.department.value if principal.department else principal.role
        raise HTTPException(
            403,
            f"source_department: {source.value!r} is not the department of this token "
            f"({own!r}); a department sends signals and records only as itself",
        )


def submitted_by(principal: Principal) -> dict[str, str]:
    """The payload fields that say who sent an event: the token's user and role."""
    return {"submitted_by": principal.user, "submitted_by_role": principal.role}
