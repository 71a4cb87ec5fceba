"""A department's worklist in a real headless Chromium, against a running system.

A household submitted through intake becomes referrals; civil affairs logs in with its token,
finds its referral on the worklist, opens it, and answers it through the form (accept, then a
delivery, after a mistyped amount the page names); the household's chain then has both answers,
naming the person. Another department cannot open that referral's page. Chromium is Debian's
(`make browser`): if it is missing, these tests fail, they never skip.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from households import dibao_family
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait
from support.browser import assert_fits_a_narrow_screen, log_in, log_out, screenshot_if_asked
from support.system import System, of_type

from events.identity import is_valid_resident_id, mask_resident_id

DEPARTMENT, USER = "civil_affairs", "civil_affairs.desk"  # deploy/local/tokens.py
CANDIDATE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def wait(browser: webdriver.Chrome, until: Callable[[webdriver.Chrome], Any], what: str) -> Any:
    return WebDriverWait(browser, 90, poll_frequency=1).until(until, f"never: {what}")


def reloaded_until(css: str) -> Callable[[webdriver.Chrome], list[WebElement] | None]:
    """Reload the page until it shows `css`: the pages hold no script and never refresh."""

    def shown(driver: webdriver.Chrome) -> list[WebElement] | None:
        driver.refresh()
        try:
            return driver.find_elements(By.CSS_SELECTOR, css) or None
        except StaleElementReferenceException:
            return None

    return shown


def send(browser: webdriver.Chrome, outcome: str, amount: str | None = None) -> None:
    browser.find_element(By.CSS_SELECTOR, f'input[name="outcome"][value="{outcome}"]').click()
    if amount is not None:
        field = browser.find_element(By.ID, "answer-delivered-cash_amount")
        field.clear()
        field.send_keys(amount)
    browser.find_element(By.CSS_SELECTOR, "form.answer button[type=submit]").click()


def outcomes(chain: list[dict[str, Any]], referral_id: str) -> list[dict[str, Any]]:
    return [
        d["payload"]
        for d in of_type(chain, "ReferralOutcomeReported")
        if d["payload"]["referral_id"] == referral_id
    ]


async def test_a_department_answers_its_referral_on_its_pages(
    system: System, browser: webdriver.Chrome
) -> None:
    body = dibao_family()
    reply = system.apply(body)
    assert reply.status_code == 202, reply.text
    household_id = reply.json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    referral_id = next(
        d["payload"]["referral_id"]
        for d in of_type(chain, "ReferralIssued")
        if d["payload"]["department"] == DEPARTMENT
    )
    feedback = system.services["feedback"].url
    row = f'tr.referral[data-referral-id="{referral_id}"]'

    log_in(browser, feedback, system.tokens[f"department:{DEPARTMENT}"], then="/worklist")
    [listed] = wait(browser, reloaded_until(row), "the referral on the worklist")
    assert listed.get_attribute("data-overdue") == "false" and listed.get_attribute("data-due")
    counts = browser.find_element(By.ID, "counts")
    assert int(counts.get_attribute("data-open") or 0) >= 1
    assert household_id in listed.text and "minimum_living_allowance" in listed.text
    screenshot_if_asked(browser, "worklist")
    assert_fits_a_narrow_screen(browser)

    listed.find_element(By.TAG_NAME, "a").click()
    wait(browser, lambda d: d.find_elements(By.ID, "answer"), "the referral's page")
    page = browser.page_source
    assert not {m for m in CANDIDATE.findall(page) if is_valid_resident_id(m)}
    members = browser.find_element(By.ID, "members").text
    for member in body["members"]:  # civil affairs is sent every member, by masked id
        assert mask_resident_id(member["person_id"]) in members

    send(browser, "ACCEPTED")
    wait(browser, lambda d: "sent=ACCEPTED" in d.current_url, "back on the page after sending")
    assert "once the chain has it" in browser.find_element(By.ID, "notice").text
    [accepted] = wait(browser, reloaded_until('tr.step[data-what="accepted"]'), "accepted")
    assert USER in accepted.text
    screenshot_if_asked(browser, "referral")
    assert_fits_a_narrow_screen(browser)

    send(browser, "DELIVERED", amount="-5")
    [error] = wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '.field-error[data-field="delivered.cash_amount"]'
        ),
        "the amount's error",
    )
    assert error.text.startswith("amount: ")
    amount = browser.find_element(By.ID, "answer-delivered-cash_amount")
    assert amount.get_attribute("aria-invalid") == "true"
    assert amount.get_attribute("value") == "-5"  # what was typed is kept

    send(browser, "DELIVERED", amount="740")
    wait(browser, lambda d: "sent=DELIVERED" in d.current_url, "the delivery sent")
    chain = await system.wait_chain(
        household_id,
        lambda c: any(o["outcome"] == "DELIVERED" for o in outcomes(c, referral_id)),
        "the delivery on the chain",
    )
    answers = outcomes(chain, referral_id)
    assert [o["outcome"] for o in answers] == ["ACCEPTED", "DELIVERED"]
    assert {o["answered_by"] for o in answers} == {USER}
    assert Decimal(answers[1]["delivered"]["cash_amount"]) == Decimal(740)
    wait(browser, reloaded_until("#final"), "the page saying the referral is final")
    assert browser.find_elements(By.CSS_SELECTOR, 'tr.step[data-what="delivered"]')

    # Another department: the referral's page is refused, and shows none of it.
    log_out(browser)
    log_in(
        browser,
        feedback,
        system.tokens["department:housing"],
        then=f"/worklist/referrals/{referral_id}",
    )
    heading = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "main h2"), "a page")
    assert heading[0].text.startswith("403")
    assert household_id not in browser.page_source
    assert "minimum_living_allowance" not in browser.page_source
    browser.get(f"{feedback}/worklist")
    assert not browser.find_elements(By.CSS_SELECTOR, row)
