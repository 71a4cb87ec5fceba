"""Bearer tokens of the local set-up: one per role, written once to a file `make run` names."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from events.types import Department

DEPARTMENTS = tuple(department.value for department in Department)
ROLES = ("intake", "auditor", "operator", *(f"department:{d}" for d in DEPARTMENTS))


def ensure_tokens(path: Path) -> Path:
    """Create the tokens file (role -> token) if it does not exist; readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tokens = {role: secrets.token_urlsafe(24) for role in ROLES}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(tokens, file, indent=2)
    return path
