"""A real headless Chromium for the page tests: Debian's (`make browser`), never a download.

If chromium or chromedriver is missing the tests that need it fail, they never skip.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

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


def log_in(driver: webdriver.Chrome, base_url: str, token: str, then: str = "") -> None:
    """Through the log-in form, as a person would; `then` is the page to land on."""
    driver.get(f"{base_url}/login" + (f"?next={then}" if then else ""))
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()


def screenshot_if_asked(driver: webdriver.Chrome, name: str) -> None:
    """`make screenshot` sets ASSIST_SCREENSHOT_DIR: the whole page, for the README."""
    directory = os.environ.get("ASSIST_SCREENSHOT_DIR")
    if not directory:
        return
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    Path(directory, f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
