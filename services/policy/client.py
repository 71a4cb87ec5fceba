"""The policy service over HTTP, for the `assist policy` commands: requests and clear errors."""

from __future__ import annotations

from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8009"
# An impact over 100,000 households takes tens of seconds; the answer is waited for that long.
IMPACT_TIMEOUT = 600.0


class PolicyError(Exception):
    """What keeps a command from its answer: the service's reason, or why it was not reached."""


class PolicyClient:
    def __init__(self, url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def versions(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/v1/policy/versions")
        assert isinstance(body, list)
        return body

    def propose(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._object("POST", "/v1/policy/versions", json=body)

    def approve(self, name: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/policy/versions/{name}/approval")

    def withdraw(self, name: str, reason: str | None) -> dict[str, Any]:
        body = {"reason": reason} if reason else None
        return self._object("POST", f"/v1/policy/versions/{name}/withdrawal", json=body)

    def impact(self, name: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/policy/versions/{name}/impact", timeout=IMPACT_TIMEOUT)

    def progress(self, name: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/policy/versions/{name}/impact/progress")

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._call(method, path, **kwargs)
        assert isinstance(body, dict)
        return body

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PolicyError(f"cannot reach the policy service at {self.url}: {error}") from None
        if reply.status_code >= 400:
            raise PolicyError(f"{reply.status_code}: {_reason(reply)}")
        return reply.json()


def _reason(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text or reply.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else reply.text
