"""The auditor's household page in a real headless Chromium, against a running system.

A household applies and is classified; forty days later (the system's clock moved) a department
delivers one referral. An auditor logs in through the form and sees the chain as a timeline
with its cause links, the verification valid, the delivery on the happiness list; then types an
earlier date into the date picker and sees the state of that date: nothing delivered yet, the
referral still open, and before the first event no state at all. Another role is refused.
Chromium is Debian's (`make browser`): if it is missing, these tests fail, they never skip.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, timedelta
from typing import Any

import httpx
from households import dibao_family
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait
from support.browser import assert_fits_a_narrow_screen, log_in, screenshot_if_asked
from support.system import System, of_type

from events.identity import is_valid_resident_id

RESIDENT_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
WAIT = 180  # seconds: the machine may be loaded


def attributes(driver: webdriver.Chrome, css: str, *names: str) -> list[dict[str, str]]:
    return [
        {n: e.get_attribute(n) or "" for n in names}
        for e in driver.find_elements(By.CSS_SELECTOR, css)
    ]


def type_date(driver: webdriver.Chrome, day: date) -> None:
    """Into the date picker, as a person types it (Chromium's en-US order: month, day, year),
    then Enter submits the form."""
    field = driver.find_element(By.ID, "as_of")
    field.clear()
    field.send_keys(f"{day.month:02d}{day.day:02d}{day.year:04d}")
    assert field.get_attribute("value") == day.isoformat()
    field.send_keys(Keys.ENTER)


def state_of(driver: webdriver.Chrome) -> dict[str, str] | None:
    try:
        state = driver.find_element(By.ID, "state")
        return {n: state.get_attribute(n) or "" for n in ("data-as-of", "data-tier")}
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def test_other_roles_are_refused_with_a_page(system: System, browser: webdriver.Chrome) -> None:
    audit = system.services["audit"].url
    for role in ("operator", "department:civil_affairs", "policy"):
        reply = httpx.get(f"{audit}/households", headers=system.headers(role), timeout=30)
        assert reply.status_code == 403, role
        assert "auditors only" in reply.text
    reply = httpx.get(f"{audit}/households/HH-ANY", timeout=30)
    assert reply.status_code == 401 and 'name="next" value="/households/HH-ANY"' in reply.text

    log_in(browser, audit, system.tokens["operator"], then="/households")
    assert "auditors only" in browser.find_element(By.ID, "reason").text
    assert not browser.find_elements(By.ID, "household_id")


async def test_an_auditor_reads_the_chain_its_verification_and_its_state_on_any_date(
    system: System, browser: webdriver.Chrome
) -> None:
    reply = system.apply(dibao_family())
    assert reply.status_code == 202, reply.text
    household_id = reply.json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals", WAIT
    )
    classified_on = system.today()
    system.advance(days=40)
    allowance: dict[str, Any] = next(
        d["payload"]
        for d in of_type(chain, "ReferralIssued")
        if d["payload"]["program"] == "minimum_living_allowance"
    )
    answer = {"outcome": "DELIVERED", "delivered": {"cash_amount": 1240, "service": "allowance"}}
    reply = system.feedback(allowance["referral_id"], "civil_affairs", answer)
    assert reply.status_code == 202, reply.text
    chain = await system.wait_chain(
        household_id,
        lambda c: any(
            d["payload"]["outcome"] == "DELIVERED" for d in c if "outcome" in d["payload"]
        ),
        "the delivery",
        WAIT,
    )
    delivered_on = system.today()
    assert delivered_on >= classified_on + timedelta(days=40)

    audit = system.services["audit"].url
    path = f"/households/{household_id}"
    log_in(browser, audit, system.tokens["auditor"], then=path)

    # The clock's advance makes referrals overdue a moment later: wait until the page shows the
    # delivery and every event the chain has, read after the page.
    deadline = time.monotonic() + WAIT
    while True:
        shown = len(browser.find_elements(By.CSS_SELECTOR, "tr.event"))
        delivered = browser.find_elements(By.CSS_SELECTOR, "tr.delivered")
        chain = await system.chain_of(household_id)
        if delivered and shown == len(chain):
            break
        assert time.monotonic() < deadline, f"the page shows {shown} of {len(chain)} events"
        await asyncio.sleep(1)
        browser.get(f"{audit}{path}")
    assert browser.current_url == f"{audit}{path}"  # the log-in came back to the page asked

    # The chain as a timeline: every event in chain order, each an anchor, causes linked.
    entries = attributes(browser, "tr.event", "id", "data-sequence", "data-event-type")
    assert len(entries) >= len(chain)
    assert [e["data-sequence"] for e in entries] == [str(n) for n in range(1, len(entries) + 1)]
    shown_types = [e["data-event-type"] for e in entries][: len(chain)]
    assert shown_types == [d["event_type"] for d in chain]
    assert [e["id"] for e in entries][: len(chain)] == [f"e-{d['event_id']}" for d in chain]
    classification = next(d for d in chain if d["event_type"] == "HouseholdClassified")
    row = browser.find_element(By.ID, f"e-{classification['event_id']}")
    link = row.find_element(By.CSS_SELECTOR, "li.cause a")
    assert link.get_attribute("href").endswith(f"#e-{classification['causation_id']}")
    link.click()
    assert browser.current_url.endswith(f"#e-{classification['causation_id']}")

    # Verified against the latest tree head, said to be the server's own check.
    verification = browser.find_element(By.ID, "verification")
    assert verification.get_attribute("data-valid") == "true", verification.text
    assert "server" in verification.text and "assist verify" in verification.text

    # The state now, and the happiness list with the delivery.
    assert state_of(browser) == {"data-as-of": "", "data-tier": "DIBAO"}
    [delivered] = attributes(browser, "tr.delivered", "data-referral-id")
    assert delivered["data-referral-id"] == allowance["referral_id"]
    assert "1240" in browser.find_element(By.ID, "happiness").text
    page = browser.page_source
    assert not {m for m in RESIDENT_ID.findall(page) if is_valid_resident_id(m)}
    screenshot_if_asked(browser, "household")
    assert_fits_a_narrow_screen(browser)

    # Twenty days after the classification: classified, referred, nothing delivered yet.
    between = classified_on + timedelta(days=20)
    type_date(browser, between)
    WebDriverWait(browser, WAIT, poll_frequency=0.5).until(
        lambda d: (state_of(d) or {}).get("data-as-of", "").startswith(between.isoformat()),
        "the page never showed the state as of the date typed",
    )
    assert f"as_of={between.isoformat()}" in browser.current_url
    assert state_of(browser) == {
        "data-as-of": f"{between.isoformat()}T23:59:59.999999+08:00",
        "data-tier": "DIBAO",
    }
    assert browser.find_elements(By.CSS_SELECTOR, "tr.delivered") == []
    statuses = {
        r["data-referral-id"]: r["data-status"]
        for r in attributes(browser, "tr.referral", "data-referral-id", "data-status")
    }
    assert statuses[allowance["referral_id"]] == "open"
    assert browser.find_element(By.ID, "as_of").get_attribute("value") == between.isoformat()

    # The day before the household's first event: no state yet.
    type_date(browser, classified_on - timedelta(days=1))
    WebDriverWait(browser, WAIT, poll_frequency=0.5).until(
        lambda d: d.find_elements(By.ID, "no-state"), "no 'no state yet' message"
    )
    assert "No state yet on that date" in browser.find_element(By.ID, "no-state").text
    assert state_of(browser) == {
        "data-as-of": f"{classified_on - timedelta(days=1)}T23:59:59.999999+08:00",
        "data-tier": "",
    }
