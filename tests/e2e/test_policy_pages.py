"""The policy pages in a real headless Chromium, against a running system.

A policy maker logs in through the form, opens the list of versions, follows the link to a
proposed version's impact and must see exactly the counts the impact API gives (tier
transitions, referrals per program, the minimum-living gap) with charts of them; an auditor
may look too, a department may not. Chromium is Debian's (`make browser`): if it is missing,
these tests fail, they never skip.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from households import dibao_family, household, person
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from support.browser import assert_fits_a_narrow_screen, log_in, screenshot_if_asked
from support.system import System, of_type

HANGZHOU = "330100"
ADULT = date(1986, 3, 1)
PAGE_WAIT = 180  # seconds: the machine is shared, the run and the page take their time


def households() -> list[dict[str, Any]]:
    """Hangzhou (D 1240, M 1860) households that a D of 1400 (M 2100) moves, and one it does not
    move but whose gap grows."""
    return [
        household([person(ADULT, "head", 1300, "employed")]),  # MARGINAL -> DIBAO
        household([person(ADULT, "head", 1350, "employed")]),  # MARGINAL -> DIBAO
        household([person(ADULT, "head", 2000, "employed")]),  # NONE -> MARGINAL
        dibao_family(),  # DIBAO either way: pci 500
    ]


@pytest.fixture(scope="module")
def proposed(system: System) -> tuple[str, dict[str, Any]]:
    """A raised standard proposed over settled households, and its impact as the API gives it."""
    ids = []
    for body in households():
        reply = system.apply(body)
        assert reply.status_code == 202, reply.text
        ids.append(reply.json()["household_id"])

    async def settle() -> None:
        for household_id in ids:
            await system.wait_chain(
                household_id, lambda c: bool(of_type(c, "HouseholdClassified")), "classified", 180
            )

    asyncio.run(settle())
    name = f"P-{uuid.uuid4().hex[:8]}"
    version = {
        "policy_version": name,
        "effective_from": (system.today() + timedelta(days=7)).isoformat(),
        "note": "raise Hangzhou's standard to 1400",
        "regions": [{"region_code": HANGZHOU, "dibao_standard": "1400"}],
    }
    reply = system.policy("POST", "/versions", user="policy.chen", json=version)
    assert reply.status_code == 201, reply.text
    return name, settled_impact(system, name, len(ids))


def settled_impact(system: System, name: str, households: int) -> dict[str, Any]:
    """The impact once it counts every household and two answers a few seconds apart agree
    (the referrals that follow a classification have been read by the policy service too)."""
    deadline, last = time.monotonic() + 240, None
    while True:
        reply = system.policy("GET", f"/versions/{name}/impact", role="auditor")
        assert reply.status_code == 200, reply.text
        impact: dict[str, Any] = reply.json()
        if impact["households"] >= households and impact == last:
            return impact
        assert time.monotonic() < deadline, f"the impact never settled: {impact}"
        last = impact
        time.sleep(3)


def transitions_of(impact: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (r["region_code"], *t.split("->"), str(n))
        for r in impact["regions"]
        for t, n in r["tiers"].items()
    ]


def programs_of(impact: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (r["region_code"], p, str(issued.get(p, 0)), str(withdrawn.get(p, 0)))
        for r in impact["regions"]
        for issued, withdrawn in ((r["referrals_issued"], r["referrals_withdrawn"]),)
        for p in sorted({*issued, *withdrawn})
    ]


def gaps_of(impact: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (r["region_code"], r["minimum_living_gap_before"], r["minimum_living_gap_after"])
        for r in impact["regions"]
    ]


def attributes(driver: webdriver.Chrome, css: str, *names: str) -> list[tuple[str, ...]]:
    return [
        tuple(e.get_attribute(n) or "" for n in names)
        for e in driver.find_elements(By.CSS_SELECTOR, css)
    ]


def impact_shown(driver: webdriver.Chrome) -> dict[str, list[tuple[str, ...]]] | None:
    """The impact page's tables and bars, once it shows them (it reloads itself while the
    run is under way: None until then, or when it reloaded under us)."""
    try:
        if not driver.find_elements(By.CSS_SELECTOR, "table#transitions"):
            return None
        return {
            "transitions": attributes(
                driver,
                "#transitions tr.transition",
                "data-region",
                "data-from",
                "data-to",
                "data-count",
            ),
            "programs": attributes(
                driver,
                "#programs tr.program",
                "data-region",
                "data-program",
                "data-issued",
                "data-withdrawn",
            ),
            "gaps": attributes(driver, "#gaps tr.gap", "data-region", "data-before", "data-after"),
            "program bars": attributes(
                driver,
                f"#programs-chart-{HANGZHOU} rect.point",
                "data-group",
                "data-series",
                "data-y",
            ),
            "points": attributes(driver, "svg.chart .point", "data-y"),
        }
    except StaleElementReferenceException:
        return None


def test_a_policy_maker_follows_the_list_to_the_impact_the_api_gives(
    system: System, browser: webdriver.Chrome, proposed: tuple[str, dict[str, Any]]
) -> None:
    name, _ = proposed
    url = system.url("policy")

    log_in(browser, url, system.tokens["policy"], then="/versions")
    WebDriverWait(browser, PAGE_WAIT, poll_frequency=0.5).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'tr.version[data-version="{name}"]'),
        "the versions page never listed the proposed version",
    )
    listed = dict(attributes(browser, "tr.version", "data-version", "data-status"))
    versions = system.policy("GET", "/versions", role="auditor").json()
    assert listed == {v["policy_version"]: v["status"] for v in versions}
    assert listed[name] == "proposed" and "in_force" in listed.values()
    browser.find_element(By.CSS_SELECTOR, f'tr.version[data-version="{name}"] a.impact').click()
    shown = WebDriverWait(browser, PAGE_WAIT, poll_frequency=0.5).until(
        impact_shown, "the impact page never showed the impact"
    )
    impact = system.policy("GET", f"/versions/{name}/impact", role="auditor").json()

    assert browser.current_url == f"{url}/versions/{name}/impact"
    assert browser.find_element(By.CSS_SELECTOR, "header .user").text == "policy.chen"
    assert shown["transitions"] == transitions_of(impact)
    assert sorted(shown["transitions"]) == [
        (HANGZHOU, "MARGINAL", "DIBAO", "2"),
        (HANGZHOU, "NONE", "MARGINAL", "1"),
    ]
    assert shown["programs"] == programs_of(impact) and shown["programs"]
    assert shown["gaps"] == gaps_of(impact)
    assert sorted(shown["program bars"]) == sorted(
        (program, series, count)
        for region, program, issued, withdrawn in programs_of(impact)
        if region == HANGZHOU
        for series, count in (("issued", issued), ("withdrawn", withdrawn))
    )
    assert any(float(y) > 0 for (y,) in shown["points"])
    screenshot_if_asked(browser, "impact")
    assert_fits_a_narrow_screen(browser)


def test_an_auditor_may_open_the_impact_a_department_gets_the_403_page(
    system: System, browser: webdriver.Chrome, proposed: tuple[str, dict[str, Any]]
) -> None:
    name, impact = proposed
    url, path = system.url("policy"), f"/versions/{name}/impact"

    log_in(browser, url, system.tokens["auditor"], then=path)
    shown = WebDriverWait(browser, PAGE_WAIT, poll_frequency=0.5).until(
        impact_shown, "the auditor never saw the impact"
    )
    assert browser.find_element(By.CSS_SELECTOR, "header .user").text == "auditor.li"
    assert shown["transitions"] == transitions_of(impact)
    assert shown["programs"] == programs_of(impact)

    log_in(browser, url, system.tokens["department:civil_affairs"], then=path)
    WebDriverWait(browser, PAGE_WAIT, poll_frequency=0.5).until(
        lambda d: d.find_element(By.TAG_NAME, "h2").text.startswith("403"),
        "a department's log-in was not refused with the 403 page",
    )
    assert "policy makers and auditors only" in browser.find_element(By.ID, "reason").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#transitions")

    department = httpx.get(
        f"{url}{path}", headers=system.headers("department:civil_affairs"), timeout=60
    )
    assert department.status_code == 403 and 'id="transitions"' not in department.text
    nobody = httpx.get(f"{url}{path}", timeout=60)
    assert nobody.status_code == 401 and 'name="token"' in nobody.text
    assert f'name="next" value="{path}"' in nobody.text
