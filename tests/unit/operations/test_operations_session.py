"""Who may open the console: operator tokens by header, and the session cookie a login makes."""

from __future__ import annotations

from fastapi import Request, Response

from services.operations.session import COOKIE, ConsoleAuth
from services.runtime.auth import TokenStore

TOKENS = TokenStore({"operator": "op-secret", "auditor": "audit-secret"})


def request(
    headers: dict[str, str] | None = None, cookie: str | None = None, scheme: str = "http"
) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie is not None:
        raw.append((b"cookie", f"{COOKIE}={cookie}".encode()))
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": raw,
            "query_string": b"",
            "scheme": scheme,
            "server": ("127.0.0.1", 8008),
        }
    )


def session_cookie(auth: ConsoleAuth, scheme: str = "http") -> tuple[str, str]:
    response = Response()
    auth.open_session(response, request(scheme=scheme))
    header = response.headers["set-cookie"]
    value = header.split(";", 1)[0].split("=", 1)[1]
    return value, header


def test_bearer_tokens_are_judged_by_role() -> None:
    auth = ConsoleAuth(TOKENS, 3600)
    assert auth.judge(request({"Authorization": "Bearer op-secret"})).allowed
    assert auth.judge(request({"Authorization": "Bearer audit-secret"})).status == 403
    assert auth.judge(request({"Authorization": "Bearer nope"})).status == 401
    assert auth.judge(request({"Authorization": "Basic op-secret"})).status == 401
    assert auth.judge(request()).status == 401


def test_the_session_cookie_is_httponly_strict_and_holds_no_token() -> None:
    auth = ConsoleAuth(TOKENS, 3600)
    value, header = session_cookie(auth)
    assert "op-secret" not in header
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "max-age=3600" in lowered
    assert "secure" not in lowered  # plain http on the local machine
    assert "secure" in session_cookie(auth, scheme="https")[1].lower()
    assert auth.judge(request(cookie=value)).allowed


def test_a_forged_expired_or_rotated_session_is_refused() -> None:
    now = [1_000_000.0]
    auth = ConsoleAuth(TOKENS, 60, clock=lambda: now[0])
    value, _ = session_cookie(auth)
    expires, mac = value.split(".")
    assert not auth.judge(request(cookie=f"{int(expires) + 3600}.{mac}")).allowed  # extended
    assert not auth.judge(request(cookie="garbage")).allowed
    now[0] += 61
    assert auth.judge(request(cookie=value)).status == 401
    now[0] -= 61
    rotated = ConsoleAuth(TokenStore({"operator": "new-secret"}), 60, clock=lambda: now[0])
    assert not rotated.judge(request(cookie=value)).allowed


def test_a_bearer_header_decides_even_with_a_valid_cookie() -> None:
    auth = ConsoleAuth(TOKENS, 3600)
    value, _ = session_cookie(auth)
    both = request({"Authorization": "Bearer audit-secret"}, cookie=value)
    assert auth.judge(both).status == 403


def test_without_an_operator_token_nobody_gets_in() -> None:
    auth = ConsoleAuth(TokenStore({"auditor": "audit-secret"}), 3600)
    assert auth.judge(request(cookie="1.abc")).status == 401
