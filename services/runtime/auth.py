"""Bearer tokens, users and roles (interfaces.md): a token belongs to a person (a user id) who
has a role: intake, department:<id>, auditor, operator, policy."""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from events.types import Department

ROLES = frozenset({"intake", "auditor", "operator", "policy"})


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    user: str = ""  # the person; records of access and decisions name them

    def __post_init__(self) -> None:
        if not self.user:
            object.__setattr__(self, "user", self.role)

    @property
    def department(self) -> Department | None:
        """The department a `department:<id>` token speaks for."""
        if self.role.startswith("department:"):
            return Department(self.role.split(":", 1)[1])
        return None


@dataclass(frozen=True, slots=True)
class TokenEntry:
    user: str
    role: str
    token: str


class TokenStore:
    """Who holds which token, from a JSON file (local set-up) or ASSIST_TOKENS (a secret).

    The file is a list of `{"user": ..., "role": ..., "token": ...}` (interfaces.md); the older
    form, an object role -> token, is still read (each role then is its own user).
    """

    def __init__(self, entries: list[TokenEntry] | dict[str, str]) -> None:
        if isinstance(entries, dict):
            entries = [TokenEntry(role, role, token) for role, token in entries.items()]
        users: dict[str, str] = {}
        for entry in entries:
            _check_role(entry.role)
            if not entry.user or not entry.token:
                raise ValueError("every token needs a user and a token")
            if users.setdefault(entry.user, entry.role) != entry.role:
                raise ValueError(f"user {entry.user!r} has two roles; give each role its own user")
        tokens = [e.token for e in entries]
        if len(set(tokens)) != len(tokens):
            raise ValueError("two users share a token")
        self._entries = list(entries)

    @classmethod
    def parse(cls, document: Any) -> TokenStore:
        if isinstance(document, dict):
            return cls({str(role): str(token) for role, token in document.items()})
        if not isinstance(document, list):
            raise ValueError("tokens: expected a list of {user, role, token}")
        entries = []
        for i, item in enumerate(document):
            if not isinstance(item, dict) or not {"user", "role", "token"} <= set(item):
                raise ValueError(f"tokens[{i}]: expected an object with user, role and token")
            entries.append(TokenEntry(str(item["user"]), str(item["role"]), str(item["token"])))
        return cls(entries)

    @classmethod
    def load(cls, path: Path | None) -> TokenStore:
        raw = os.environ.get("ASSIST_TOKENS")
        if raw:
            return cls.parse(json.loads(raw))
        if path is None:
            raise RuntimeError("no tokens: set ASSIST_TOKENS_FILE or ASSIST_TOKENS")
        return cls.parse(json.loads(path.read_text()))

    @classmethod
    def load_optional(cls, path: Path | None) -> TokenStore | None:
        """The configured tokens, or None where a service runs without any (tests, a sandbox)."""
        if not os.environ.get("ASSIST_TOKENS") and (path is None or not path.exists()):
            return None
        return cls.load(path)

    def principal(self, token: str) -> Principal | None:
        found = None
        for entry in self._entries:
            # Constant-time comparison, and every entry compared: a token is a secret.
            if hmac.compare_digest(token.encode(), entry.token.encode()):
                found = Principal(entry.role, entry.user)
        return found

    def token_of_user(self, user: str) -> str | None:
        """The user's token, or None when the tokens file no longer names them."""
        for entry in self._entries:
            if entry.user == user:
                return entry.token
        return None

    def token_for(self, role: str) -> str:
        """The token of the first user with this role."""
        for entry in self._entries:
            if entry.role == role:
                return entry.token
        raise KeyError(role)


def _check_role(role: str) -> None:
    if role in ROLES:
        return
    if role.startswith("department:") and role.split(":", 1)[1] in {d.value for d in Department}:
        return
    raise ValueError(f"unknown role in tokens: {role!r}")


# Declares the bearer token in every guarded route's OpenAPI; the check itself is ours (below).
_BEARER = Security(
    HTTPBearer(auto_error=False, description="A token of the tokens file: its role and user")
)


def require(store: TokenStore, *roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: 401 without a valid token, 403 when its role is not in `roles`.

    A role 'department' admits any department token. A coroutine although it never waits:
    FastAPI runs a plain function dependency in a worker thread, and that hop cost more CPU
    than the rest of intake's request handling (make bench).
    """

    async def dependency(
        request: Request, _: HTTPAuthorizationCredentials | None = _BEARER
    ) -> Principal:
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
