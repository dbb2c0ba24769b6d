"""The demo page in a real browser: two viewers, English and Portuguese, chat through the
real gateway and the real embedded en<->pt models.

Needs Debian's chromium and chromedriver (``apt-get install chromium chromium-driver``) and
the ``selenium`` package. Without them the test is skipped, except under CI (``CI`` set),
where it fails so that a broken image cannot pass silently. selenium-manager never runs: the
driver and the browser are given by path, so nothing is downloaded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser import MessageList, wait

# The browser_tools, base_url and browser fixtures.
pytest_plugins = ["tests.browser"]

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - depends on the environment
    pass  # the browser_tools fixture skips (or fails under CI) before these are used

pytestmark = pytest.mark.e2e

LIPSTICK = "I love this lipstick"
SHIPPING = "tem frete grátis?"
XSS = "<img src=x onerror=alert(1)>"  # an alert would also fail every later driver call


messages = MessageList("document.querySelector('#messages')")
settled = messages.settled


def join(driver: Any, base_url: str, name: str, lang: str, room: str) -> None:
    driver.get(base_url + "/")
    form = wait(driver, "the join form", lambda d: d.find_element(By.ID, "join-form"))
    assert form.is_displayed()
    name_box = driver.find_element(By.ID, "join-name")
    name_box.clear()
    name_box.send_keys(name)
    Select(driver.find_element(By.ID, "join-lang")).select_by_value(lang)
    room_box = driver.find_element(By.ID, "join-room")
    room_box.clear()
    room_box.send_keys(room)
    driver.find_element(By.ID, "join-btn").click()
    wait(driver, f"{name} to connect", lambda d: d.find_element(
        By.ID, "conn-status").get_attribute("data-state") == "connected")
    assert driver.find_element(By.ID, "chat").is_displayed()
    assert driver.find_element(By.ID, "room-name").text == room


def say(driver: Any, text: str, *, press_enter: bool = False) -> None:
    box = driver.find_element(By.ID, "send-text")
    box.send_keys(text)
    counter = driver.find_element(By.ID, "char-count")
    assert counter.text == f"{len(text)} / 500"
    if press_enter:
        box.send_keys(Keys.ENTER)
    else:
        button = driver.find_element(By.ID, "send-btn")
        wait(driver, "the send button", lambda d: button.is_enabled())
        button.click()
    wait(driver, "the send box to clear", lambda d: box.get_attribute("value") == "")


def test_two_viewers_chat_across_languages(base_url: str, browser: Callable[[], Any]) -> None:
    room = "browser-" + secrets.token_hex(4)
    en, pt = browser(), browser()
    join(en, base_url, "Emma", "en", room)
    join(pt, base_url, "Ana", "pt", room)

    for driver in (en, pt):
        wait(driver, "presence to count both viewers", lambda d: d.find_element(
            By.ID, "presence").text == "2 viewers: en 1 · pt 1")

    # English -> Portuguese.
    say(en, LIPSTICK, press_enter=True)
    seen = wait(pt, "the Portuguese tab to show the translated comment",
                lambda d: settled(d, LIPSTICK))
    assert seen["user"] == "Emma"
    assert seen["translated"], seen
    assert seen["text"] != LIPSTICK
    assert "batom" in seen["text"].lower(), seen
    assert "translated from en" in seen["meta"], seen
    assert not seen["original_shown"]
    # The English tab shows its own comment as written, marked as ours.
    own = wait(en, "the English tab to show its own comment", lambda d: settled(d, LIPSTICK))
    assert own["text"] == LIPSTICK and not own["translated"] and own["mine"], own

    # "show original" reveals the English text on the Portuguese tab.
    toggle = pt.find_element(
        By.CSS_SELECTOR, f'[data-id="{seen["id"]}"] [data-testid="toggle-original"]')
    toggle.click()
    shown = wait(pt, "the original to be shown", lambda d: (
        m := settled(d, LIPSTICK)) is not None and m["original_shown"] and m)
    assert pt.find_element(
        By.CSS_SELECTOR, f'[data-id="{shown["id"]}"] [data-testid="message-original"]'
    ).text == LIPSTICK

    # Portuguese -> English.
    say(pt, SHIPPING)
    seen = wait(en, "the English tab to show the translated comment",
                lambda d: settled(d, SHIPPING))
    assert seen["user"] == "Ana"
    assert seen["translated"], seen
    assert "free shipping" in seen["text"].lower(), seen
    assert "translated from pt" in seen["meta"], seen

    # Markup in a comment is shown as text, and never becomes an element.
    say(en, XSS, press_enter=True)
    own = wait(en, "the English tab to show the markup comment", lambda d: settled(d, XSS))
    assert own["text"] == XSS
    other = wait(pt, "the Portuguese tab to show the markup comment", lambda d: settled(d, XSS))
    assert other["original"] == XSS
    for driver in (en, pt):
        assert driver.execute_script("return document.querySelectorAll('img').length") == 0
    assert en.find_element(
        By.CSS_SELECTOR, f'[data-id="{own["id"]}"] [data-testid="message-text"]'
    ).text == XSS

    # The page logged no errors (script errors, failed loads) along the way.
    for driver in (en, pt):
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not severe, severe
