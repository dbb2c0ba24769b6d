"""The demo page in a real browser: two viewers, English and Portuguese, join through its
form and chat through the real gateway and the real embedded en<->pt models. The chat on the
page is the widget (<babelcast-chat>); tests/browser/test_widget_browser.py covers the widget's own
behaviours in depth, this test the page around it.

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

from tests.chromium import HOST, MessageList, say, severe_logs, shadow, wait

# The browser_tools, base_url and browser fixtures.
pytest_plugins = ["tests.chromium"]

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - depends on the environment
    pass  # the browser_tools fixture skips (or fails under CI) before these are used

pytestmark = pytest.mark.e2e

LIPSTICK = "I love this lipstick"
SHIPPING = "tem frete grátis?"
XSS = "<img src=x onerror=alert(1)>"  # an alert would also fail every later driver call


messages = MessageList(f"{HOST}.shadowRoot")
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
    wait(driver, f"{name} to connect", lambda d: d.execute_script(
        f"return {HOST} && {HOST}.getAttribute('data-status')") == "connected")
    assert driver.find_element(By.ID, "chat").is_displayed()
    assert not form.is_displayed()
    widget = driver.find_element(By.CSS_SELECTOR, "#chat babelcast-chat")
    assert (widget.get_attribute("room"), widget.get_attribute("lang"),
            widget.get_attribute("name")) == (room, lang, name)
    assert shadow(driver, '[data-testid="room"]').text == room


def test_two_viewers_chat_across_languages(base_url: str, browser: Callable[[], Any]) -> None:
    room = "browser-" + secrets.token_hex(4)
    en, pt = browser(), browser()
    join(en, base_url, "Emma", "en", room)
    join(pt, base_url, "Ana", "pt", room)

    # The widget's own words are in the reading language.
    for driver, viewers in ((en, "2 viewers"), (pt, "2 espectadores")):
        wait(driver, "presence to count both viewers", lambda d, v=viewers: shadow(
            d, '[data-testid="presence"]').text == f"{v}: en 1 · pt 1")

    # English -> Portuguese.
    say(en, LIPSTICK)
    seen = wait(pt, "the Portuguese tab to show the translated comment",
                lambda d: settled(d, LIPSTICK))
    assert seen["user"] == "Emma" and seen["translated"], seen
    assert "batom" in seen["text"].lower(), seen
    assert "traduzido do inglês" in seen["meta"], seen
    own = wait(en, "the English tab to show its own comment", lambda d: settled(d, LIPSTICK))
    assert own["text"] == LIPSTICK and not own["translated"] and own["mine"], own

    # Portuguese -> English, and "show original" on the English tab.
    say(pt, SHIPPING)
    seen = wait(en, "the English tab to show the translated comment",
                lambda d: settled(d, SHIPPING))
    assert seen["user"] == "Ana" and seen["translated"], seen
    assert "free shipping" in seen["text"].lower(), seen
    shadow(en, f'[data-id="{seen["id"]}"] [data-testid="toggle-original"]').click()
    wait(en, "the original to be shown", lambda d: (
        m := settled(d, SHIPPING)) is not None and m["original_shown"]
        and m["original"] == SHIPPING)

    # Markup in a comment is shown as text, and never becomes an element.
    say(en, XSS)
    other = wait(pt, "the Portuguese tab to show the markup comment", lambda d: settled(d, XSS))
    assert other["original"] == XSS
    for driver in (en, pt):
        assert driver.execute_script(f"return {HOST}.shadowRoot.querySelectorAll('img').length"
                                     " + document.querySelectorAll('img').length") == 0

    # Leaving closes the chat and shows the form again, remembering name, language and room.
    en.find_element(By.ID, "leave-btn").click()
    wait(en, "the join form again", lambda d: d.find_element(By.ID, "join-form").is_displayed())
    assert en.execute_script(f"return {HOST}") is None
    wait(pt, "presence to drop the English viewer", lambda d: shadow(
        d, '[data-testid="presence"]').text == "1 espectador: pt 1")
    en.refresh()
    wait(en, "the join form after a reload", lambda d: d.find_element(
        By.ID, "join-name").get_attribute("value") == "Emma")
    assert en.find_element(By.ID, "join-room").get_attribute("value") == room
    assert Select(en.find_element(By.ID, "join-lang")).first_selected_option.get_attribute(
        "value") == "en"

    # The page logged no errors (script errors, failed loads) along the way.
    for driver in (en, pt):
        assert not severe_logs(driver)
