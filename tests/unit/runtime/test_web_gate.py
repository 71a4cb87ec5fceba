"""The log-in routes and the door of every page: back to the page asked for, never elsewhere."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from services.runtime.auth import TokenEntry, TokenStore
from services.runtime.web.page import html
from services.runtime.web.routes import PageGate
from services.runtime.web.session import PageSessions, roles_admitted

TOKENS = TokenStore(
    [TokenEntry("ada", "auditor", "audit-secret"), TokenEntry("olga", "operator", "op-secret")]
)
FORM = {"content-type": "application/x-www-form-urlencoded"}


def client() -> httpx.AsyncClient:
    sessions = PageSessions(TOKENS, roles_admitted("auditor"), "auditors", "assist_t", 3600)
    gate = PageGate(sessions, "assist · test", "Auditor token", home="/home")
    app = FastAPI()
    gate.install(app, "pages")

    @app.get("/things/{name}")
    async def thing(name: str, request: Request) -> Response:
        who = gate.enter(request)
        if isinstance(who, HTMLResponse):
            return who
        return html(f"<p>{name} for {who.user}</p>")

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_page_without_a_session_is_the_login_form_that_comes_back_to_it() -> None:
    web = client()
    refused = await web.get("/things/x")
    assert refused.status_code == 401
    assert 'name="next" value="/things/x"' in refused.text
    login = await web.post("/login", content="token=audit-secret&next=/things/x", headers=FORM)
    assert login.status_code == 303 and login.headers["location"] == "/things/x"
    page = await web.get("/things/x")
    assert page.status_code == 200 and "x for ada" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_a_login_never_sends_the_browser_to_another_site() -> None:
    web = client()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/login"):
        login = await web.post("/login", content=f"token=audit-secret&next={target}", headers=FORM)
        assert login.headers["location"] == "/home", target


async def test_another_role_gets_a_403_page_and_logout_ends_the_session() -> None:
    web = client()
    assert (await web.post("/login", content="token=op-secret", headers=FORM)).status_code == 403
    assert (await web.post("/login", content="token=nope", headers=FORM)).status_code == 401
    await web.post("/login", content="token=audit-secret", headers=FORM)
    assert (await web.get("/things/y")).status_code == 200
    assert (await web.post("/logout")).status_code == 303
    assert (await web.get("/things/y")).status_code == 401


async def test_the_page_asked_for_comes_back_with_its_query_and_the_root_leads_home() -> None:
    web = client()
    refused = await web.get("/things/x?as_of=2026-01-01")
    assert 'name="next" value="/things/x?as_of=2026-01-01"' in refused.text
    assert (await web.get("/")).status_code == 401
    await web.post("/login", content="token=audit-secret", headers=FORM)
    root = await web.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/home"
