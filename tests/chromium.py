"""Shared helpers for the tests that drive a real browser (Debian chromium + chromedriver).

Without chromium, chromedriver or the ``selenium`` package the browser tests are skipped,
except under CI (``CI`` set), where they fail so that a broken image cannot pass silently.
selenium-manager never runs: the driver and the browser are given by path, so nothing is
downloaded. Test modules get the fixtures (``browser_tools``, ``gateway``, ``base_url``,
``browser``) with::

    pytest_plugins = ["tests.chromium"]

PYTEST_DONT_REWRITE: the helpers assert nothing, and test modules import them before pytest
loads this module as their plugin.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import LiveServer, live_server

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the environment
    webdriver = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HOST = "document.querySelector('babelcast-chat')"  # the widget element, in page scripts
HOST_KEY = "browser-host-key"  # the gateway fixture's --host-key
WAIT_S = 20.0  # the longest any single UI condition may take (translation included)


def _missing(why: str) -> None:
    """Skip, or fail under CI, when the browser tooling is not installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must run the browser test (apt-get install chromium "
                    "chromium-driver; pip install selenium)", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser_tools() -> None:
    """Skip (or fail under CI) before anything starts when the tooling is missing."""
    if webdriver is None:
        _missing("selenium is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            _missing(f"{path} is not installed")


@pytest.fixture(scope="module")
def gateway(browser_tools: None) -> Iterator[LiveServer]:
    """The real gateway (real models) served by uvicorn on a free loopback port, with
    ``HOST_KEY`` as its host key so that tests can act as the host."""
    with live_server(host_key=HOST_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def base_url(gateway: LiveServer) -> str:
    """The gateway's http:// origin."""
    return gateway.http


@pytest.fixture
def browser(browser_tools: None, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A factory of headless Debian chromium drivers, all quit at teardown.

    ``browser(lang="pt-BR", size=(360, 740))`` sets the browser's language and window size.
    """
    drivers: list[Any] = []

    def make(lang: str = "en-US", size: tuple[int, int] = (480, 900)) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        profile = tmp_path / f"profile-{len(drivers)}"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={profile}",
                    f"--window-size={size[0]},{size[1]}", f"--lang={lang}"):
            options.add_argument(arg)
        try:
            driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER),
                                      options=options)
        except WebDriverException as exc:
            pytest.fail(f"chromium did not start: {exc.msg}", pytrace=False)
        driver.set_page_load_timeout(WAIT_S)
        drivers.append(driver)
        return driver

    try:
        yield make
    finally:
        for driver in drivers:
            driver.quit()


def wait(driver: Any, what: str, condition: Callable[[Any], Any]) -> Any:
    """Wait until ``condition(driver)`` is truthy and return it; fail saying ``what``."""
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(
        condition, message=f"timed out waiting for {what}")


def severe_logs(driver: Any) -> list[dict[str, Any]]:
    """The browser console's errors (script errors, failed loads) so far."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


Message = dict[str, Any]


def messages_script(root: str) -> str:
    """JavaScript returning everything a chat UI shows about its messages, read in one go
    under ``root`` (a JS expression: the page's list, or a widget's shadow root), so that no
    element goes stale between reads while messages are re-rendered in place."""
    return f"""
const root = {root};
return Array.from(root.querySelectorAll('[data-testid="message"]')).map(li => ({{
  id: li.dataset.id,
  pending: li.dataset.pending === 'true',
  translated: li.dataset.translated === 'true',
  mine: li.classList.contains('mine'),
  user: li.querySelector('[data-testid="message-user"]').textContent,
  text: li.querySelector('[data-testid="message-text"]').textContent,
  dir: li.querySelector('[data-testid="message-text"]').dir,
  original: li.querySelector('[data-testid="message-original"]').textContent,
  original_shown: !li.querySelector('[data-testid="message-original"]').hidden,
  meta: li.querySelector('[data-testid="message-meta"]').textContent,
}}));
"""


class MessageList:
    """Reads a chat UI's messages with ``messages_script(root)``."""

    def __init__(self, root: str) -> None:
        self.script = messages_script(root)

    def __call__(self, driver: Any) -> list[Message]:
        return list(driver.execute_script(self.script))

    def settled(self, driver: Any, original: str) -> Message | None:
        """The message whose original text is ``original``, once it is no longer pending."""
        for m in self(driver):
            if m["original"] == original and not m["pending"]:
                return m
        return None



def host_page(path: Path, base_url: str, room: str, **attrs: str) -> str:
    """A customer's page: one script tag and one element, in a phone-width column."""
    attr_text = " ".join(f"{k}={json.dumps(v)}" for k, v in {"room": room, **attrs}.items())
    path.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>host page</title>
<style>
  body {{ margin: 0; padding: 8px; background: #f3f4f8; }}
  babelcast-chat {{ --babelcast-accent: #c2185b; --babelcast-height: 560px; }}
</style>
<script src="{base_url}/widget.js"></script>
</head><body>
<babelcast-chat {attr_text}></babelcast-chat>
</body></html>
""", encoding="utf-8")
    return path.as_uri()


def open_widget(driver: Any, url: str) -> Any:
    """Load a page with one widget and wait until it is connected."""
    driver.get(url)
    wait(driver, "the widget to connect", lambda d: d.execute_script(
        f"return {HOST}.getAttribute('data-status')") == "connected")
    return driver.find_element(By.CSS_SELECTOR, "babelcast-chat")


def shadow(driver: Any, css: str) -> Any:
    """The element matching ``css`` inside the page's widget."""
    return driver.find_element(By.CSS_SELECTOR, "babelcast-chat").shadow_root.find_element(
        By.CSS_SELECTOR, css)


def say(driver: Any, text: str) -> None:
    """Type ``text`` into the page's widget and send it with Enter."""
    box = shadow(driver, '[data-testid="input"]')
    box.send_keys(text)
    assert shadow(driver, '[data-testid="count"]').text == f"{len(text)} / 500"
    box.send_keys(Keys.ENTER)
    wait(driver, "the send box to clear", lambda d: box.get_attribute("value") == "")
