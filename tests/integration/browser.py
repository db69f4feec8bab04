"""Real headless Chromium for the operators' pages, driven by selenium through Debian's chromedriver.

``scripts/test`` installs Debian's ``chromium`` and ``chromium-driver``; a missing one fails the test with
what to install (never a skip: a skipped page test proves nothing).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

#: The launch flags this machine needs (no background networking: its closed network refuses it).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def binary(name: str, package: str) -> str:
    """The path of Debian's ``name`` program, or a failed test that says what to install."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"Debian's {package} is needed (scripts/test installs it): apt-get install {package}")
    return path


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile in ``profile``, quit on exit."""
    from selenium import webdriver  # noqa: PLC0415 - only the page tests need selenium
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    driver = binary("chromedriver", "chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary("chromium", "chromium")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        browser.set_page_load_timeout(30)
        yield browser
    finally:
        browser.quit()


def click(browser: WebDriver, element: WebElement) -> None:
    """Click and wait for the next page (every button and link of these pages loads one).

    The old page is marked by a script variable, and the wait is for a complete document without it.
    Waiting for the old ``<html>`` element to go stale instead raced Chromium's navigation: asking a node
    of a page being torn down can fail with "Node with given id does not belong to the document" rather
    than with a stale reference.
    """
    from selenium.common.exceptions import WebDriverException  # noqa: PLC0415
    from selenium.webdriver.support.wait import WebDriverWait  # noqa: PLC0415

    browser.execute_script("window.stationpipeOldPage = true;")
    element.click()
    WebDriverWait(browser, 20, ignored_exceptions=(WebDriverException,)).until(_next_page_loaded)


def _next_page_loaded(browser: WebDriver) -> bool:
    return bool(
        browser.execute_script(
            "return window.stationpipeOldPage === undefined && document.readyState === 'complete';"
        )
    )
