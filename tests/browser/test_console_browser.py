"""The host console (/host/{room}) and the widget's host-console behaviours in a real browser,
against the real gateway and the real en<->pt models: a Portuguese viewer's questions reach the
English console's question queue, the host marks them answered, deletes a comment from a
viewer's widget and mutes a viewer; the insights panel counts the room; the widget fits a
phone and lays out right-to-left text.

Browser tooling as in tests/chromium.py (skipped without it, failed under CI). The screenshots
are written to the test's tmp dir (docs/console.png and docs/widget-phone.png come from
tests/browser/test_first_screen_browser.py, with a multilingual room).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import (
    HOST,
    HOST_KEY,
    MessageList,
    host_page,
    open_widget,
    say,
    severe_logs,
    shadow,
    wait,
)
from tests.harness import LiveServer, live_server

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - depends on the environment
    pass  # the browser_tools fixture skips (or fails under CI) before these are used

# The browser_tools, gateway, base_url and browser fixtures.
pytest_plugins = ["tests.chromium"]

pytestmark = pytest.mark.e2e

ASKED = "Qual é o preço do frete para o Brasil?"
ASKED_NO_MARK = "quanto custa o Glow Kit"
PRAISE = "adorei o Glow Kit 😍"
AFTER_MUTE = "mais uma pergunta"
ARABIC = "هل يوجد شحن إلى مصر؟"

WIDGET = f"{HOST}.shadowRoot"
chat_messages = MessageList(WIDGET)


def save_artifact(png: bytes, name: str, tmp_path: Path) -> None:
    assert png.startswith(b"\x89PNG")
    (tmp_path / name).write_bytes(png)


QUEUE_JS = """
const read = (list) => Array.from(document.querySelectorAll(
    `[data-testid="${list}"] [data-testid="question"]`)).map(li => ({
  id: li.dataset.id, pending: li.dataset.pending === 'true',
  user: li.querySelector('[data-testid="question-user"]').textContent,
  text: li.querySelector('[data-testid="question-text"]').textContent,
  lang: li.querySelector('[data-testid="question-text"]').lang,
  meta: li.querySelector('[data-testid="question-meta"]').textContent,
}));
return {open: read('question-queue'), answered: read('answered-queue'),
        count: document.querySelector('[data-testid="question-count"]').textContent};
"""


def queue(driver: Any) -> dict[str, Any]:
    return dict(driver.execute_script(QUEUE_JS))


def text_of(driver: Any, testid: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]').text)


def console_action(driver: Any, message_id: str, action: str) -> None:
    """Click a host action (pin, delete, mute) on one message of the console's chat."""
    driver.find_element(By.CSS_SELECTOR, "babelcast-chat").shadow_root.find_element(
        By.CSS_SELECTOR, f'[data-id="{message_id}"] [data-testid="action-{action}"]').click()


def test_console_queue_actions_and_insights(gateway: LiveServer, base_url: str,
                                            browser: Callable[..., Any],
                                            tmp_path: Path) -> None:
    room = "console-" + secrets.token_hex(4)
    assert gateway.put("/v1/glossaries/console-brand",
                       json={"terms": [{"term": "Glow Kit"}]}).status_code in (200, 201)
    assert gateway.put(f"/v1/rooms/{room}/settings",
                       json={"glossary": "console-brand"}).status_code == 200
    console = browser(lang="en-US", size=(1200, 820))
    console.get(f"{base_url}/host/{room}?key={HOST_KEY}&lang=en&name=Host")
    wait(console, "the console's chat to connect", lambda d: d.execute_script(
        f"return {HOST}.getAttribute('data-status')") == "connected")
    assert text_of(console, "console-room") == room
    pt = browser(lang="en-US", size=(360, 740))
    open_widget(pt, host_page(tmp_path / "pt.html", base_url, room, name="Ana", lang="pt"))

    for text in (ASKED, ASKED_NO_MARK, PRAISE):
        say(pt, text)
    # Both questions reach the queue, in English; the praise does not.
    got = wait(console, "two settled questions in the queue", lambda d: (
        q := queue(d))["count"] == "2" and not any(x["pending"] for x in q["open"]) and q)
    asked, no_mark = got["open"]
    for item, original in ((asked, ASKED), (no_mark, ASKED_NO_MARK)):
        assert item["user"] == "Ana" and item["lang"] == "en", item
        assert item["meta"] == f"from Portuguese: {original}", item
    assert "price" in asked["text"].lower() and "brazil" in asked["text"].lower(), asked
    assert "how much" in no_mark["text"].lower() and "Glow Kit" in no_mark["text"], no_mark
    # The chat shows every comment in English and highlights the questions.
    shown = {m["original"]: m for m in wait(console, "the console's chat to show all three",
                                            lambda d: len(chat_messages(d)) == 3
                                            and chat_messages(d))}
    praise_id = shown[PRAISE]["id"]
    flags = console.execute_script(
        f"return Array.from({WIDGET}.querySelectorAll('[data-testid=\"message\"]'))"
        ".map(li => [li.dataset.id, li.dataset.question, li.getAttribute('part')])")
    assert {i: (q, part) for i, q, part in flags} == {
        asked["id"]: ("true", "message question"), no_mark["id"]: ("true", "message question"),
        praise_id: ("false", "message")}
    assert "Glow Kit" in shown[PRAISE]["text"] and shown[PRAISE]["translated"]

    # Insights: viewers per language and the counts of the last minutes.
    wait(console, "insights to count the room", lambda d: text_of(d, "insights-viewers")
         == "2 · en 1 · pt 1" and text_of(d, "insights-rate").startswith("3 ")
         and text_of(d, "insights-questions") == "2")
    assert text_of(console, "insights-mood") == (
        "curiosity — excitement 1 · curiosity 2 · hesitation 0")
    assert text_of(console, "insights-terms") == "Glow Kit ×2"

    # Marking a question answered moves it out of the queue.
    console.find_element(By.CSS_SELECTOR, f'[data-testid="question-queue"] '
                         f'[data-id="{asked["id"]}"] [data-testid="mark-answered"]').click()
    after = wait(console, "the question to move to answered", lambda d: (
        q := queue(d))["count"] == "1" and q)
    assert [x["id"] for x in after["open"]] == [no_mark["id"]]
    assert [x["id"] for x in after["answered"]] == [asked["id"]]
    save_artifact(console.get_screenshot_as_png(), "console.png", tmp_path)

    # Delete from the console: the comment leaves the viewer's widget and the counts.
    console_action(console, praise_id, "delete")
    wait(pt, "the deleted comment to leave the viewer's widget", lambda d: all(
        m["original"] != PRAISE for m in chat_messages(d)) and len(chat_messages(d)) == 2)
    wait(console, "the console to confirm and drop it", lambda d: "Deleted message"
         in text_of(d, "console-notice") and len(chat_messages(d)) == 2)
    wait(console, "insights to forget the deleted comment",
         lambda d: text_of(d, "insights-rate").startswith("2 ")
         and text_of(d, "insights-terms") == "Glow Kit ×1")

    # Mute from the console: the viewer's next comment is refused, in plain words.
    console_action(console, no_mark["id"], "mute")
    wait(console, "the mute to be confirmed", lambda d: "Muted Ana"
         in text_of(d, "console-notice"))
    button = console.find_element(By.CSS_SELECTOR, "babelcast-chat").shadow_root.find_element(
        By.CSS_SELECTOR, f'[data-id="{no_mark["id"]}"] [data-testid="action-mute"]')
    assert button.text == "muted" and not button.is_enabled()
    shadow(pt, '[data-testid="input"]').send_keys(AFTER_MUTE + Keys.ENTER)
    error = wait(pt, "the muted notice", lambda d: (e := shadow(
        d, '[data-testid="error"]')).is_displayed() and e)
    assert error.get_attribute("data-code") == "muted"
    assert "silenciou você" in error.text  # the viewer's words, in Portuguese
    # The refused comment is given back to the box, to keep or discard.
    assert shadow(pt, '[data-testid="input"]').get_attribute("value") == AFTER_MUTE
    assert all(m["original"] != AFTER_MUTE for m in chat_messages(console))

    # The host switches the chat to Portuguese in place (same socket): the list and the queue
    # are redrawn in Portuguese.
    console.execute_script(f"window.socketBefore = {HOST}._s.ws")
    picker = console.find_element(By.CSS_SELECTOR, "babelcast-chat").shadow_root.find_element(
        By.CSS_SELECTOR, '[data-testid="lang"]')
    Select(picker).select_by_value("pt")
    switched = wait(console, "the queue in Portuguese", lambda d: (
        q := queue(d))["open"] and q["open"][0]["text"] == ASKED_NO_MARK and q)
    assert switched["open"][0]["lang"] == "pt" and switched["count"] == "1"
    assert [m["text"] for m in chat_messages(console)] == [ASKED, ASKED_NO_MARK]
    assert console.execute_script(f"return window.socketBefore === {HOST}._s.ws")
    for driver in (console, pt):
        assert not severe_logs(driver)


def test_console_without_a_key_is_read_only(base_url: str, browser: Callable[..., Any],
                                            gateway: LiveServer) -> None:
    room = "console-ro-" + secrets.token_hex(4)
    viewer = gateway.viewer(room, "pt", "Ana")
    try:
        viewer.comment("tem frete grátis?")
        viewer.expect(lambda f: f["type"] == "ack")
        page = browser(lang="en-US", size=(1000, 700))
        page.get(f"{base_url}/host/{room}")
        wait(page, "the question in the queue", lambda d: queue(d)["count"] == "1")
        assert "Read-only" in text_of(page, "console-notice")
        assert page.execute_script(
            f"return {WIDGET}.querySelectorAll('[data-testid^=\"action-\"]').length") == 0
    finally:
        viewer.close()


def test_console_with_room_tokens(browser: Callable[..., Any]) -> None:
    """With --auth jwt the console's credential is a room token in its URL: a moderator's
    token gets the actions, a viewer's token does not."""
    from babelcast.gateway.web.auth import RoomTokens

    secret = "console-test-secret-" + "c" * 32
    tokens = RoomTokens(secret)
    room = "console-jwt-" + secrets.token_hex(4)
    with live_server(auth="jwt", jwt_secret=secret, engine="none") as srv:
        viewer = srv.viewer(room, query="lang=en&token="
                            + tokens.issue(room, "user-bob", "Bob", "viewer", 600).token)
        try:
            viewer.comment("does it ship to Canada")
            mid = viewer.expect(lambda f: f["type"] == "ack")["id"]
            page = browser(lang="en-US", size=(1000, 700))
            moderator = tokens.issue(room, "user-mod", "Mo", "moderator", 600).token
            page.get(f"{srv.http}/host/{room}?token={moderator}")
            wait(page, "the question in the queue", lambda d: queue(d)["count"] == "1")
            wait(page, "the actions", lambda d: d.execute_script(
                f"return {WIDGET}.querySelectorAll('[data-testid^=\"action-\"]').length") == 3)
            console_action(page, mid, "delete")
            viewer.expect(lambda f: f == {"type": "deleted", "id": mid})
            wait(page, "the queue to drop the deleted question",
                 lambda d: queue(d)["count"] == "0")

            plain = tokens.issue(room, "user-cy", "Cy", "viewer", 600).token
            page.get(f"{srv.http}/host/{room}?token={plain}")
            wait(page, "the notice about the missing rights", lambda d: "without host rights"
                 in text_of(d, "console-notice"))
            assert page.execute_script(
                f"return {WIDGET}.querySelectorAll('[data-testid^=\"action-\"]').length") == 0
            assert not severe_logs(page)
        finally:
            viewer.close()


LAYOUT_JS = f"""
const root = {WIDGET};
const box = (css) => root.querySelector(css).getBoundingClientRect();
const send = box('[data-testid="send"]'), input = box('[data-testid="input"]');
return {{
  page_overflow: document.documentElement.scrollWidth - window.innerWidth,
  widget_overflow: root.querySelector('.root').scrollWidth
      - root.querySelector('.root').clientWidth,
  width: window.innerWidth,
  send: [send.left, send.right, send.top, send.bottom, send.width],
  input: [input.left, input.right, input.width],
  height: window.innerHeight,
}};
"""


def test_widget_fits_a_phone_and_lays_out_rtl_text(base_url: str, gateway: LiveServer,
                                                   browser: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    room = "phone-" + secrets.token_hex(4)
    phone = browser(lang="en-US", size=(375, 740))
    # Headless chromium keeps windows at least 500 px wide; emulate the phone's viewport.
    phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    # A long unbroken word and a long name must not push the layout sideways.
    open_widget(phone, host_page(tmp_path / "phone.html", base_url, room,
                                 name="Ana-com-um-nome-bem-comprido"))
    sender = gateway.viewer(room, "ar", "Layla")
    try:
        sender.comment(ARABIC)
        sender.comment("x" * 120)
        wait(phone, "both comments", lambda d: len(chat_messages(d)) == 2)
    finally:
        sender.close()
    layout = phone.execute_script(LAYOUT_JS)
    assert layout["width"] == 375, layout
    assert layout["page_overflow"] <= 0 and layout["widget_overflow"] <= 0, layout
    left, right, top, bottom, width = layout["send"]
    assert left >= 0 and right <= layout["width"] and width > 0, layout
    assert top >= 0 and bottom <= layout["height"], layout
    assert layout["input"][2] > 150, layout  # the text box keeps most of the row
    assert shadow(phone, '[data-testid="send"]').is_displayed()
    # Right-to-left: the Arabic comment's text resolves to rtl, the Latin one to ltr.
    dirs = phone.execute_script(
        f"return Array.from({WIDGET}.querySelectorAll('[data-testid=\"message-text\"]'))"
        ".map(t => [t.textContent, t.dir, getComputedStyle(t).direction])")
    assert dirs[0] == [ARABIC, "auto", "rtl"], dirs
    assert dirs[1][1:] == ["auto", "ltr"], dirs
    assert not severe_logs(phone)
    save_artifact(phone.find_element(By.CSS_SELECTOR, "babelcast-chat").screenshot_as_png,
                  "widget-phone.png", tmp_path)
