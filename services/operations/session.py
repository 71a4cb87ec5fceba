"""Who may look at the console: an operator token, by header, login form, or `?token=`.

A browser cannot put a bearer header on a navigation, so a valid operator token given to the
login form (or once as `?token=`) becomes an HttpOnly, SameSite=Strict cookie. The cookie holds
its expiry and an HMAC of it keyed by the token, not the token: it opens the console and nothing
else, ends when it expires, and stops working as soon as the token is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response

from services.runtime.auth import TokenStore

COOKIE = "assist_console"
ROLE = "operator"
_CONTEXT = b"assist operations console session v1"


@dataclass(frozen=True)
class Verdict:
    """Allowed (status 200), or refused with 401/403 and why."""

    status: int
    reason: str = ""
    role: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


ALLOWED = Verdict(200, role=ROLE)


class ConsoleAuth:
    def __init__(
        self, tokens: TokenStore, session_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._tokens = tokens
        self.session_seconds = session_seconds
        self._clock = clock

    def judge_token(self, token: str) -> Verdict:
        principal = self._tokens.principal(token.strip()) if token.strip() else None
        if principal is None:
            return Verdict(401, "missing or invalid token")
        if principal.role != ROLE:
            return Verdict(
                403, f"role {principal.role!r} may not use the operator console", principal.role
            )
        return ALLOWED

    def judge(self, request: Request) -> Verdict:
        """A bearer header decides when present; otherwise the session cookie."""
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer":
                return Verdict(401, "the Authorization header must be 'Bearer <token>'")
            return self.judge_token(token)
        cookie = request.cookies.get(COOKIE)
        if cookie and self._session_valid(cookie):
            return ALLOWED
        return Verdict(401, "missing or invalid token" if cookie is None else "session expired")

    def open_session(self, response: Response, request: Request) -> None:
        expires = int(self._clock()) + self.session_seconds
        response.set_cookie(
            COOKIE,
            self._session_value(self._tokens.token_for(ROLE), expires),
            max_age=self.session_seconds,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    @staticmethod
    def close_session(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    def _session_valid(self, cookie: str) -> bool:
        expires, _, _ = cookie.partition(".")
        if not expires.isdigit() or int(expires) <= self._clock():
            return False
        try:
            expected = self._session_value(self._tokens.token_for(ROLE), int(expires))
        except KeyError:  # no operator token configured: nobody may look
            return False
        return hmac.compare_digest(cookie.encode(), expected.encode())

    @staticmethod
    def _session_value(token: str, expires: int) -> str:
        mac = hmac.new(token.encode(), _CONTEXT + b"|" + str(expires).encode(), hashlib.sha256)
        return f"{expires}.{mac.hexdigest()}"
