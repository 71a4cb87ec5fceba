"""The console's routes with in-memory parts: access, what the page shows, masking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI

from contracts.topics import TopicNames
from events.identity import make_resident_id, mask_resident_id
from events.types import Department
from services.operations.app import ConsoleDeps, console_gate, install_console
from services.operations.deadletters import DeadLetterLog
from services.operations.health_poller import ServiceHealth
from services.operations.overview import Overview, build_overview, service_view
from services.operations.referral_board import ReferralBoard, ReferralState
from services.runtime.auth import TokenStore
from services.runtime.deadletter import dead_letter
from services.runtime.messages import Inbound

TOPICS = TopicNames("")
RESIDENT = make_resident_id("330100", date(1979, 4, 5), 12)
TOKENS = TokenStore({"operator": "op-secret", "auditor": "audit-secret"})


def parts() -> tuple[DeadLetterLog, ReferralBoard]:
    letters = DeadLetterLog(TOPICS)
    value = f'{{"members":[{{"person_id":"{RESIDENT}"}}]}}'.encode()
    failed = dead_letter(
        Inbound(TOPICS.events, 2, 41, b"HH-9", value),
        "chainwriter",
        f"person_id {RESIDENT}: unknown region",
        TOPICS.deadletter,
    )
    letters.handle(Inbound(TOPICS.deadletter, 0, 0, failed.key, failed.value), False)
    board = ReferralBoard()
    board.referrals["R-1"] = ReferralState(
        Department.HOUSING.value, datetime.now(UTC) - timedelta(days=1)
    )
    return letters, board


def client() -> tuple[httpx.AsyncClient, DeadLetterLog]:
    letters, board = parts()
    health = ServiceHealth(
        "referral",
        "http://x",
        checked_at=1.0,
        http_status=200,
        report={
            "processors": [
                {
                    "name": "referral",
                    "state": "running",
                    "lag": 0,
                    "consumed": 7,
                    "produced": 2,
                    "restarts": 0,
                    "last_error": None,
                }
            ]
        },
    )

    def overview() -> Overview:
        return build_overview([service_view(health, 2.0)], board, letters, 20)

    app = FastAPI()
    install_console(app, ConsoleDeps(console_gate(TOKENS, 3600), overview, lambda: letters, 5))
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://console"), letters


OPERATOR = {"Authorization": "Bearer op-secret"}
AUDITOR = {"Authorization": "Bearer audit-secret"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_without_a_token_the_browser_gets_the_login_form_with_401() -> None:
    web, _ = client()
    reply = await web.get("/")
    assert reply.status_code == 401 and 'name="token"' in reply.text
    assert (await web.get("/", headers=AUDITOR)).status_code == 403
    assert (await web.get("/?token=audit-secret")).status_code == 403
    assert (await web.get("/?token=wrong")).status_code == 401
    assert (await web.get("/v1/overview")).status_code == 401
    assert (await web.get("/v1/overview", headers=AUDITOR)).status_code == 403


async def test_a_token_in_the_url_becomes_a_cookie_and_leaves_the_url() -> None:
    web, _ = client()
    reply = await web.get("/?token=op-secret")
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert (await web.get("/")).status_code == 200  # the client kept the cookie


async def test_the_login_form_and_logout() -> None:
    web, _ = client()
    assert (await web.get("/login")).status_code == 200
    assert (await web.post("/login", content="token=audit-secret", headers=FORM)).status_code == 403
    reply = await web.post("/login", content="token=op-secret", headers=FORM)
    assert reply.status_code == 303
    page = await web.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert (await web.post("/logout")).status_code == 303
    assert (await web.get("/")).status_code == 401


async def test_the_page_shows_processors_departments_and_dead_letters_masked() -> None:
    web, letters = client()
    page = (await web.get("/", headers=OPERATOR)).text
    entry = letters.recent()[0]
    assert 'data-processor="referral" data-state="running"' in page
    assert 'data-department="housing" data-open="1" data-overdue="1"' in page
    assert f'data-id="{entry.dead_letter_id}"' in page
    assert 'http-equiv="refresh" content="5"' in page
    assert "<script" not in page and "src=" not in page
    assert RESIDENT not in page and mask_resident_id(RESIDENT) in page

    detail = await web.get(f"/deadletters/{entry.dead_letter_id[:8]}", headers=OPERATOR)
    assert detail.status_code == 200
    assert "unknown region" in detail.text and "HH-9" in detail.text
    assert RESIDENT not in detail.text and mask_resident_id(RESIDENT) in detail.text
    as_json = await web.get(f"/v1/deadletters/{entry.dead_letter_id}", headers=OPERATOR)
    assert as_json.status_code == 200 and RESIDENT not in as_json.text
    assert (await web.get("/deadletters/ffffffff", headers=OPERATOR)).status_code == 404


async def test_the_overview_as_json() -> None:
    web, _ = client()
    document = (await web.get("/v1/overview", headers=OPERATOR)).json()
    assert [p["name"] for s in document["services"] for p in s["processors"]] == ["referral"]
    assert {d["department"]: d["overdue"] for d in document["departments"]}["housing"] == 1
    assert document["dead_letters_total"] == 1
