"""A real headless Chromium for the page tests: Debian's (`make browser`), never a download.

If chromium or chromedriver is missing the tests that need it fail, they never skip.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: `make browser` installs Debian's chromium "
            "and chromium-driver",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="pages-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        # An explicit driver path: Selenium Manager never looks for (or downloads) one.
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def gone(element: WebElement) -> Callable[[webdriver.Chrome], bool]:
    """Until the element's page has been replaced. Chromium says so as a stale element, or, when
    asked while the new document is coming in, as a node that "does not belong to the document"
    (a WebDriverException of its own, which selenium's staleness_of lets through)."""

    def check(_: webdriver.Chrome) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return check


def log_in(driver: webdriver.Chrome, base_url: str, token: str, then: str = "") -> None:
    """Through the log-in form, as a person would; `then` is the page to land on."""
    driver.get(f"{base_url}/login" + (f"?next={then}" if then else ""))
    # With the keyboard alone: the token field has the focus, Enter sends the form.
    focused = driver.switch_to.active_element
    assert focused.get_attribute("id") == "token", "the log-in form does not focus its token"
    focused.send_keys(token + Keys.ENTER)
    # Until the form has gone: a test that reloads at once would otherwise cancel the log-in.
    WebDriverWait(driver, 60).until(gone(focused), "the log-in form was never sent")


def log_out(driver: webdriver.Chrome) -> None:
    """The header's log-out button, then until its page has gone: a page asked for at once
    would race the log-out's own answer, which would land last."""
    button = driver.find_element(By.CSS_SELECTOR, "header form button")
    button.click()
    WebDriverWait(driver, 60).until(gone(button), "the log-out was never sent")


# What sticks out past the right edge, outside a box that scrolls (a test's own script: the
# pages hold none, and WebDriver's runs past their Content-Security-Policy).
_WIDEST = """
const inner = window.innerWidth;
const wide = [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > inner + 1 && !e.closest('.scroll'))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
       (e.className && typeof e.className === 'string' ? '.' + e.className : '') +
       ' ' + Math.round(e.getBoundingClientRect().right) + 'px');
return [inner, document.documentElement.scrollWidth, wide];
"""


def assert_fits_a_narrow_screen(driver: webdriver.Chrome, width: int = 480) -> None:
    """The page reads on a phone: nothing wider than the screen but a table in its own box."""
    before = driver.get_window_size()
    driver.set_window_size(width, before["height"])
    try:
        inner, scroll, wide = driver.execute_script(_WIDEST)
        assert scroll <= inner, (
            f"{driver.current_url} is {scroll} px wide on a {inner} px screen; wider than "
            f"the screen, outside a scrolling box: {wide}"
        )
    finally:
        driver.set_window_size(before["width"], before["height"])


def screenshot_if_asked(driver: webdriver.Chrome, name: str) -> None:
    """`make screenshot` sets ASSIST_SCREENSHOT_DIR: the whole page, for the README."""
    directory = os.environ.get("ASSIST_SCREENSHOT_DIR")
    if not directory:
        return
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    Path(directory, f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
