"""Bearer tokens and roles (interfaces.md): intake, department:<id>, auditor, operator."""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, status

from events.types import Department


@dataclass(frozen=True, slots=True)
class Principal:
    role: str

    @property
    def department(self) -> Department | None:
        """The department a `department:<id>` token speaks for."""
        if self.role.startswith("department:"):
            return Department(self.role.split(":", 1)[1])
        return None


class TokenStore:
    """role -> token, from a JSON file (local set-up) or ASSIST_TOKENS (a secret in production)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        for role in tokens:
            _check_role(role)
        self._tokens = dict(tokens)

    @classmethod
    def load(cls, path: Path | None) -> TokenStore:
        raw = os.environ.get("ASSIST_TOKENS")
        if raw:
            return cls(json.loads(raw))
        if path is None:
            raise RuntimeError("no tokens: set ASSIST_TOKENS_FILE or ASSIST_TOKENS")
        return cls(json.loads(path.read_text()))

    @classmethod
    def load_optional(cls, path: Path | None) -> TokenStore | None:
        """The configured tokens, or None where a service runs without any (tests, a sandbox)."""
        if not os.environ.get("ASSIST_TOKENS") and (path is None or not path.exists()):
            return None
        return cls.load(path)

    def principal(self, token: str) -> Principal | None:
        for role, expected in self._tokens.items():
            # Constant-time comparison: a token is a secret.
            if hmac.compare_digest(token.encode(), expected.encode()):
                return Principal(role)
        return None

    def token_for(self, role: str) -> str:
        return self._tokens[role]


def _check_role(role: str) -> None:
    if role in {"intake", "auditor", "operator"}:
        return
    if role.startswith("department:") and role.split(":", 1)[1] in {d.value for d in Department}:
        return
    raise ValueError(f"unknown role in tokens: {role!r}")


def require(store: TokenStore, *roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: 401 without a valid token, 403 when its role is not in `roles`.

    A role 'department' admits any department token. A coroutine although it never waits:
    FastAPI runs a plain function dependency in a worker thread, and that hop cost more CPU
    than the rest of intake's request handling (make bench).
    """

    async def dependency(request: Request) -> Principal:
        principal = bearer_principal(store, request)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        allowed = principal.role in roles or (
            "department" in roles and principal.department is not None
        )
        if not allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {principal.role!r} may not do this; needs one of {sorted(roles)}",
            )
        return principal

    return dependency


def bearer_principal(store: TokenStore, request: Request) -> Principal | None:
    """The principal of the request's bearer token, or None without a valid one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return store.principal(token.strip()) if scheme.lower() == "bearer" else None
