"""Bearer tokens of the local set-up: users with roles, written once to a file `make run` names.

The file is a JSON list of `{"user", "role", "token"}` (interfaces.md): two policy users, so
that a version proposed by one can be approved by the other (maker-checker).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from events.types import Department

DEPARTMENTS = tuple(department.value for department in Department)
# (user, role): one person per role, two for policy.
USERS = (
    ("clerk.wang", "intake"),
    ("auditor.li", "auditor"),
    ("operator.zhao", "operator"),
    ("policy.chen", "policy"),
    ("policy.liu", "policy"),
    *((f"{d}.desk", f"department:{d}") for d in DEPARTMENTS),
)
ROLES = tuple(dict.fromkeys(role for _, role in USERS))


def ensure_tokens(path: Path) -> Path:
    """Create the tokens file if it does not exist; readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tokens = [
            {"user": user, "role": role, "token": secrets.token_urlsafe(24)} for user, role in USERS
        ]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(tokens, file, indent=2)
    return path


def read_tokens(path: Path) -> list[dict[str, str]]:
    """The entries of a tokens file (the older role -> token form too)."""
    document = json.loads(path.read_text())
    if isinstance(document, dict):
        return [{"user": role, "role": role, "token": token} for role, token in document.items()]
    return list(document)


def token_of(path: Path, role: str, user: str | None = None) -> str:
    """The token of `user`, or of the first user with `role`."""
    for entry in read_tokens(path):
        if entry["role"] == role and (user is None or entry["user"] == user):
            return entry["token"]
    raise KeyError(f"no token for role {role!r}" + (f" and user {user!r}" if user else ""))


def role_tokens(path: Path) -> dict[str, str]:
    """role -> the token of the first user with that role."""
    tokens: dict[str, str] = {}
    for entry in read_tokens(path):
        tokens.setdefault(entry["role"], entry["token"])
    return tokens
