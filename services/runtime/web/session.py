"""Who may look at a page: a token by header, or the session cookie a login made.

A browser cannot put a bearer header on a navigation, so a valid token given to the log-in form
(or once as `?token=`) becomes an HttpOnly, SameSite=Strict cookie. The cookie names the user,
its expiry and an HMAC of both keyed by that user's token, never the token: it opens the pages
of the service that made it and nothing else, ends when it expires, and stops working as soon
as the user's token is rotated or the user is removed from the tokens file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response

from services.runtime.auth import Principal, TokenStore


@dataclass(frozen=True)
class Verdict:
    """Allowed (status 200, with the principal), or refused with 401/403 and why."""

    status: int
    reason: str = ""
    principal: Principal | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


def roles_admitted(*roles: str) -> Callable[[Principal], bool]:
    """A principal whose role is one of `roles`; 'department' admits any department's token."""

    def admits(principal: Principal) -> bool:
        return principal.role in roles or (
            "department" in roles and principal.department is not None
        )

    return admits


class PageSessions:
    """Judges requests for one service's pages.

    `who` says in a refusal who may look ("operators", "departments", ...); `cookie` is the
    cookie's name, one per service so that one service's session never opens another's pages.
    """

    def __init__(
        self,
        tokens: TokenStore,
        admits: Callable[[Principal], bool],
        who: str,
        cookie: str,
        session_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._admits = admits
        self.who = who
        self.cookie = cookie
        self.session_seconds = session_seconds
        self._clock = clock
        self._context = f"assist page session v2|{cookie}".encode()

    def judge_token(self, token: str) -> Verdict:
        token = token.strip()
        principal = self._tokens.principal(token) if token else None
        if principal is None:
            return Verdict(401, "missing or invalid token")
        return self._judge_principal(principal)

    def judge(self, request: Request) -> Verdict:
        """A bearer header decides when present; otherwise the session cookie."""
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer":
                return Verdict(401, "the Authorization header must be 'Bearer <token>'")
            return self.judge_token(token)
        cookie = request.cookies.get(self.cookie)
        if cookie is None:
            return Verdict(401, "missing or invalid token")
        principal = self._session_principal(cookie)
        if principal is None:
            return Verdict(401, "session expired or no longer valid: log in again")
        return self._judge_principal(principal)

    def open_session(self, response: Response, request: Request, principal: Principal) -> None:
        token = self._tokens.token_of_user(principal.user)
        if token is None:  # judged a moment ago; the file changed in between
            return
        expires = int(self._clock()) + self.session_seconds
        response.set_cookie(
            self.cookie,
            self._session_value(principal.user, token, expires),
            max_age=self.session_seconds,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    def close_session(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path="/", httponly=True, samesite="strict")

    def token_of(self, principal: Principal) -> str:
        """The user's current token (pages that record who read what fingerprint it)."""
        return self._tokens.token_of_user(principal.user) or ""

    def _judge_principal(self, principal: Principal) -> Verdict:
        if not self._admits(principal):
            return Verdict(
                403, f"role {principal.role!r} may not open these pages: {self.who} only", principal
            )
        return Verdict(200, principal=principal)

    def _session_principal(self, cookie: str) -> Principal | None:
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) <= self._clock():
            return None
        try:
            user = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        token = self._tokens.token_of_user(user)
        if token is None:
            return None
        expected = self._session_value(user, token, int(parts[1]))
        if not hmac.compare_digest(cookie.encode(), expected.encode()):
            return None
        return self._tokens.principal(token)

    def _session_value(self, user: str, token: str, expires: int) -> str:
        name = base64.urlsafe_b64encode(user.encode()).decode().rstrip("=")
        message = self._context + b"|" + user.encode() + b"|" + str(expires).encode()
        mac = hmac.new(token.encode(), message, hashlib.sha256).hexdigest()
        return f"{name}.{expires}.{mac}"
