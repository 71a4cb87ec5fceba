"""The operator console in a real headless Chromium, against a running system.

It must show every stream processor, a dead letter this test caused, and an overdue referral;
it must let in only an operator; and no resident identity number may appear in clear in any
service's log or on any console page. Chromium is Debian's (`make browser`): if it is missing,
these tests fail, they never skip.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from households import dibao_family
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from support.browser import assert_fits_a_narrow_screen, log_in, screenshot_if_asked
from support.factories import application_event, member
from support.kafka_io import produce, read_documents
from support.processes import ServiceProcess
from support.system import System, new_person, of_type

from events.identity import is_valid_resident_id, mask_resident_id

CANDIDATE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def clear_resident_ids(text: str) -> set[str]:
    return {m for m in CANDIDATE.findall(text) if is_valid_resident_id(m)}


@pytest.fixture(scope="module")
def console(system: System) -> Iterator[ServiceProcess]:
    """The operations service, watching this system's services, logging beside them."""
    intake = system.services["intake"]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": system.kafka.bootstrap_servers,
        "ASSIST_TOPIC_NAMESPACE": system.topics.namespace,
        "ASSIST_TOKENS_FILE": intake.env["ASSIST_TOKENS_FILE"],
        "ASSIST_CONSOLE_SERVICES": json.dumps({n: s.url for n, s in system.services.items()}),
        "ASSIST_CONSOLE_POLL_SECONDS": "0.5",
        "ASSIST_CONSOLE_REFRESH_SECONDS": "2",
        "ASSIST_CONSOLE_TREND_SAMPLE_SECONDS": "0.5",
    }
    service = ServiceProcess("operations", env, intake.log_path.parent).start()
    try:
        service.wait_healthy(timeout=90)
        yield service
    finally:
        service.stop()


def processors_of(system: System) -> dict[str, set[str]]:
    """service -> its processors' names, as each service's own /healthz says."""
    return {
        name: {
            p["name"]
            for p in httpx.get(
                f"{s.url}/healthz", timeout=10, headers=system.headers("operator")
            ).json()["processors"]
        }
        for name, s in system.services.items()
    }


async def cause_a_dead_letter(system: System) -> tuple[dict[str, Any], str]:
    """An application whose occurred_at is garbage, sent straight to assist.events."""
    event = application_event("HH-CONSOLE-DL", members=[member(n) for n in (31, 32)])
    resident = event.payload.members[0].person_id  # type: ignore[attr-defined]
    document = json.loads(event.to_bytes())
    document["occurred_at"] = "the day before yesterday"
    await produce(
        system.kafka, system.topics.events, [(b"HH-CONSOLE-DL", json.dumps(document).encode())]
    )

    async def found() -> dict[str, Any] | None:
        for letter in await read_documents(system.kafka, system.topics.deadletter):
            original = json.loads(base64.b64decode(letter["value_base64"]))
            if original.get("household_id") == "HH-CONSOLE-DL":
                return letter
        return None

    return await system.wait_until(found, "the dead letter"), resident


def rows(driver: webdriver.Chrome, css: str, *attributes: str) -> list[dict[str, str]] | None:
    """The rows' attributes, or None if the page reloaded under us (it refreshes itself)."""
    try:
        return [
            {a: e.get_attribute(a) or "" for a in attributes}
            for e in driver.find_elements(By.CSS_SELECTOR, css)
        ]
    except StaleElementReferenceException:
        return None


async def test_console_shows_every_processor_a_dead_letter_and_an_overdue_referral(
    system: System, console: ServiceProcess, browser: webdriver.Chrome
) -> None:
    reply = system.apply(dibao_family())
    assert reply.status_code == 202, reply.text
    household_id = reply.json()["household_id"]
    await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    system.advance(days=31)  # past every due date: the referrals become overdue
    letter, resident = await cause_a_dead_letter(system)
    expected = processors_of(system)

    log_in(browser, console.url, system.tokens["operator"])

    def shows_everything(driver: webdriver.Chrome) -> bool:
        processors = rows(driver, "tr.processor", "data-service", "data-processor", "data-state")
        letters = rows(driver, "tr.dead-letter", "data-id")
        departments = rows(driver, "tr.department", "data-department", "data-overdue")
        if processors is None or letters is None or departments is None:
            return False
        running = {
            (r["data-service"], r["data-processor"])
            for r in processors
            if r["data-state"] == "running"
        }
        every = all((s, p) in running for s, names in expected.items() for p in names)
        overdue = {r["data-department"]: int(r["data-overdue"] or 0) for r in departments}
        return (
            every
            and letter["dead_letter_id"] in {r["data-id"] for r in letters}
            and overdue.get("civil_affairs", 0) >= 1
        )

    WebDriverWait(browser, 90, poll_frequency=0.5).until(
        shows_everything,
        "the console never showed every processor running, the dead letter and an overdue referral",
    )

    def charts_have_points(driver: webdriver.Chrome) -> bool:
        throughput = rows(driver, "#trend-throughput circle.point", "data-series", "data-y")
        lag = rows(driver, "#trend-lag circle.point", "data-series")
        letters = rows(driver, "#trend-dead_letters circle.point", "data-series", "data-y")
        if throughput is None or lag is None or letters is None:
            return False
        drawn = {r["data-series"] for r in throughput}
        return (
            any(float(r["data-y"]) > 0 for r in throughput)
            and any(name.endswith(".chainwriter") for name in drawn)
            and bool(lag)
            and any(r["data-series"] == letter["service"] for r in letters)
        )

    WebDriverWait(browser, 90, poll_frequency=0.5).until(
        charts_have_points,
        "the console's charts never drew throughput, lag and the dead letter's service",
    )
    page = browser.page_source
    assert not clear_resident_ids(page)
    assert "operations" in {
        r["data-service"] for r in rows(browser, "tr.processor", "data-service") or []
    }
    screenshot_if_asked(browser, "console")
    assert_fits_a_narrow_screen(browser)

    browser.get(f"{console.url}/deadletters/{letter['dead_letter_id']}")
    detail = browser.find_element(By.TAG_NAME, "main").text
    assert "occurred_at" in detail and "HH-CONSOLE-DL" in detail
    assert resident not in browser.page_source
    assert mask_resident_id(resident) in browser.find_element(By.ID, "value").text


def test_console_lets_in_only_an_operator(system: System, console: ServiceProcess) -> None:
    def get(path: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{console.url}{path}", headers=headers, timeout=10)

    assert get("/").status_code == 401
    assert get("/", system.tokens["auditor"]).status_code == 403
    assert get("/v1/overview", system.tokens["department:education"]).status_code == 403
    assert get("/?token=not-a-token").status_code == 401
    assert get(f"/?token={system.tokens['intake']}").status_code == 403
    assert get("/", system.tokens["operator"]).status_code == 200

    reply = get(f"/?token={system.tokens['operator']}")
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert system.tokens["operator"] not in cookie
    with httpx.Client(base_url=console.url, cookies=reply.cookies, timeout=10) as browser_like:
        assert browser_like.get("/").status_code == 200


def test_no_resident_id_in_clear_in_any_log_or_console_page(
    system: System, console: ServiceProcess
) -> None:
    person = new_person(date(1961, 8, 8))
    signal = system.signal(
        {
            "kind": "major_medical_expense",
            "person_id": person,
            "region_code": "330100",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_department": "medical_security",
            "amount": 30000,
        }
    )
    assert signal.status_code == 202, signal.text

    operator = {"Authorization": f"Bearer {system.tokens['operator']}"}
    overview = httpx.get(f"{console.url}/v1/overview", headers=operator, timeout=10)
    pages = [httpx.get(f"{console.url}/", headers=operator, timeout=10).text, overview.text]
    for row in overview.json()["dead_letters"]:
        for path in (
            f"/deadletters/{row['dead_letter_id']}",
            f"/v1/deadletters/{row['dead_letter_id']}",
        ):
            pages.append(httpx.get(f"{console.url}{path}", headers=operator, timeout=10).text)
    assert len(pages) >= 4  # the dead letter of the first test is there to be looked at
    for page in pages:
        assert not clear_resident_ids(page)

    logs = {p.name: p.read_text() for p in console.log_path.parent.glob("*.log")}
    assert {f"{name}.log" for name in (*system.services, "operations")} <= set(logs)
    lines = sum(text.count("\n") for text in logs.values())
    for name, text in logs.items():
        for number, line in enumerate(text.splitlines(), start=1):
            assert not clear_resident_ids(line), f"{name}:{number} has a resident id in clear"
    # The scan looked at lines that did carry resident ids, masked.
    assert mask_resident_id(person) in logs["intake.log"], f"{lines} lines, no masked id"
