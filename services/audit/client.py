"""The audit service over HTTP, for the `assist` command line: token, requests, clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8005"
DEFAULT_TOKENS_FILE = Path("var") / "tokens.json"
ROLES = ("auditor", "operator")


class AuditError(Exception):
    """Anything that keeps a command from getting its answer (exit code 2)."""


class NotFound(AuditError):
    pass


def resolve_token(
    token: str | None,
    tokens_file: Path | None,
    roles: tuple[str, ...] = ROLES,
    user: str | None = None,
) -> str:
    """The bearer token: given, or ASSIST_TOKEN, or from the tokens file: `user`'s, else the
    first user's of the first of `roles` found (auditor, else operator, by default)."""
    token = token or os.environ.get("ASSIST_TOKEN")
    if token:
        return token
    path = tokens_file or Path(os.environ.get("ASSIST_TOKENS_FILE") or DEFAULT_TOKENS_FILE)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise AuditError(
            f"no token: pass --token, set ASSIST_TOKEN, or point "
            f"ASSIST_TOKENS_FILE at the tokens file ({path} does not exist)"
        ) from None
    except (OSError, ValueError) as error:
        raise AuditError(f"cannot read the tokens file {path}: {error}") from None
    entries = (
        [{"user": r, "role": r, "token": t} for r, t in document.items()]
        if isinstance(document, dict)
        else [e for e in document if isinstance(e, dict)]
        if isinstance(document, list)
        else []
    )
    if user is not None:
        for entry in entries:
            if entry.get("user") == user and isinstance(entry.get("token"), str):
                return str(entry["token"])
        raise AuditError(f"the tokens file {path} has no user {user!r}")
    for role in roles:
        for entry in entries:
            if entry.get("role") == role and isinstance(entry.get("token"), str):
                return str(entry["token"])
    raise AuditError(f"the tokens file {path} has no {' or '.join(roles)} token")


class AuditClient:
    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def close(self) -> None:
        self._client.close()

    def chain(self, household_id: str) -> dict[str, Any]:
        return self._get(f"/v1/households/{household_id}/chain")

    def verify(self, household_id: str) -> dict[str, Any]:
        return self._get(f"/v1/households/{household_id}/chain/verify")

    def state(self, household_id: str, as_of: str | None = None) -> dict[str, Any]:
        params = {"as_of": as_of} if as_of else None
        return self._get(f"/v1/households/{household_id}/state", params)

    def latest_checkpoint(self) -> dict[str, Any]:
        return self._get("/v1/checkpoints/latest")

    def latest_tree_head(self) -> dict[str, Any]:
        return self._get("/v1/tree-heads/latest")

    def inclusion(self, household_id: str, tree_sizes: dict[int, int]) -> dict[str, Any]:
        sizes = ",".join(f"{p}:{n}" for p, n in sorted(tree_sizes.items()))
        return self._get(f"/v1/households/{household_id}/inclusion", {"tree_sizes": sizes})

    def consistency(self, partition: int, old_size: int, new_size: int) -> dict[str, Any]:
        params = {"partition": str(partition), "old_size": str(old_size), "new_size": str(new_size)}
        return self._get("/v1/log/consistency", params)

    def add_witness(self, tree_head_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send("POST", f"/v1/tree-heads/{tree_head_id}/witnesses", body=body)

    def witnesses(self, tree_head_id: str) -> list[dict[str, Any]]:
        answer: Any = self._send("GET", f"/v1/tree-heads/{tree_head_id}/witnesses")
        return list(answer)

    def public_key(self) -> dict[str, Any]:
        return self._get("/v1/checkpoints/public-key")

    def writer_key(self) -> dict[str, Any]:
        return self._get("/v1/keys/chain-writer")

    def rebuild(self) -> dict[str, Any]:
        return self._send("POST", "/v1/index/rebuild")

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._send("GET", path, params)

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            reply = self._client.request(method, path, params=params, json=body)
        except httpx.HTTPError as error:
            raise AuditError(f"cannot reach the audit service at {self.url}: {error}") from None
        if reply.status_code == 404:
            raise NotFound(_detail(reply))
        if reply.status_code in (401, 403):
            raise AuditError(
                f"the audit service refused the token ({reply.status_code}): {_detail(reply)}"
            )
        if reply.status_code >= 400:
            raise AuditError(f"the audit service answered {reply.status_code}: {_detail(reply)}")
        answer: dict[str, Any] = reply.json()
        return answer


def _detail(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
