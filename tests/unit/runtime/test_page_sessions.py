"""Who may open a service's pages: tokens by header, and the session cookie a login makes."""

from __future__ import annotations

from fastapi import Request, Response

from services.runtime.auth import TokenEntry, TokenStore
from services.runtime.web.session import PageSessions, roles_admitted

COOKIE = "assist_pages"
TOKENS = TokenStore(
    [
        TokenEntry("olga", "operator", "op-secret"),
        TokenEntry("oscar", "operator", "op-secret-2"),
        TokenEntry("ada", "auditor", "audit-secret"),
        TokenEntry("ming", "department:education", "edu-secret"),
    ]
)


def operators(tokens: TokenStore = TOKENS, seconds: int = 3600, clock=None) -> PageSessions:  # type: ignore[no-untyped-def]
    extra = {"clock": clock} if clock else {}
    return PageSessions(tokens, roles_admitted("operator"), "operators", COOKIE, seconds, **extra)


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


def session_cookie(
    sessions: PageSessions, token: str = "op-secret", scheme: str = "http"
) -> tuple[str, str]:
    verdict = sessions.judge_token(token)
    assert verdict.principal is not None
    response = Response()
    sessions.open_session(response, request(scheme=scheme), verdict.principal)
    header = response.headers["set-cookie"]
    value = header.split(";", 1)[0].split("=", 1)[1]
    return value, header


def test_bearer_tokens_are_judged_by_role() -> None:
    sessions = operators()
    assert sessions.judge(request({"Authorization": "Bearer op-secret"})).allowed
    assert sessions.judge(request({"Authorization": "Bearer audit-secret"})).status == 403
    assert sessions.judge(request({"Authorization": "Bearer nope"})).status == 401
    assert sessions.judge(request({"Authorization": "Basic op-secret"})).status == 401
    assert sessions.judge(request()).status == 401


def test_department_admits_every_department_and_nobody_else() -> None:
    departments = PageSessions(TOKENS, roles_admitted("department"), "departments", COOKIE, 60)
    verdict = departments.judge_token("edu-secret")
    assert verdict.allowed and verdict.principal is not None
    assert verdict.principal.department is not None
    assert departments.judge_token("op-secret").status == 403


def test_the_session_cookie_is_httponly_strict_and_holds_no_token() -> None:
    sessions = operators()
    value, header = session_cookie(sessions)
    assert "op-secret" not in header
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "max-age=3600" in lowered
    assert "secure" not in lowered  # plain http on the local machine
    assert "secure" in session_cookie(sessions, scheme="https")[1].lower()
    assert sessions.judge(request(cookie=value)).allowed


def test_the_session_names_its_user_not_just_the_role() -> None:
    sessions = operators()
    olga, _ = session_cookie(sessions, "op-secret")
    oscar, _ = session_cookie(sessions, "op-secret-2")
    first, second = sessions.judge(request(cookie=olga)), sessions.judge(request(cookie=oscar))
    assert first.principal is not None and first.principal.user == "olga"
    assert second.principal is not None and second.principal.user == "oscar"
    # One user's name on another's MAC opens nothing.
    assert not sessions.judge(
        request(cookie=olga.split(".")[0] + "." + oscar.split(".", 1)[1])
    ).allowed


def test_a_forged_expired_rotated_or_removed_session_is_refused() -> None:
    now = [1_000_000.0]
    sessions = operators(seconds=60, clock=lambda: now[0])
    value, _ = session_cookie(sessions)
    name, expires, mac = value.split(".")
    assert not sessions.judge(request(cookie=f"{name}.{int(expires) + 3600}.{mac}")).allowed
    assert not sessions.judge(request(cookie="garbage")).allowed
    assert not sessions.judge(request(cookie="!!.1.2")).allowed
    now[0] += 61
    assert sessions.judge(request(cookie=value)).status == 401
    now[0] -= 61
    rotated = TokenStore([TokenEntry("olga", "operator", "new-secret")])
    assert not operators(rotated, 60, lambda: now[0]).judge(request(cookie=value)).allowed
    removed = TokenStore([TokenEntry("oscar", "operator", "op-secret-2")])
    assert not operators(removed, 60, lambda: now[0]).judge(request(cookie=value)).allowed


def test_a_session_of_a_user_whose_role_changed_is_judged_by_the_new_role() -> None:
    value, _ = session_cookie(operators())
    demoted = TokenStore([TokenEntry("olga", "auditor", "op-secret")])
    assert operators(demoted).judge(request(cookie=value)).status == 403


def test_a_bearer_header_decides_even_with_a_valid_cookie() -> None:
    sessions = operators()
    value, _ = session_cookie(sessions)
    both = request({"Authorization": "Bearer audit-secret"}, cookie=value)
    assert sessions.judge(both).status == 403


def test_one_service_s_cookie_does_not_open_another_s_pages() -> None:
    value, _ = session_cookie(operators())
    other = PageSessions(TOKENS, roles_admitted("operator"), "operators", "assist_other", 3600)
    raw = request(cookie=value)
    raw.scope["headers"] = [(b"cookie", f"assist_other={value}".encode())]
    assert other.judge(Request(raw.scope)).status == 401
