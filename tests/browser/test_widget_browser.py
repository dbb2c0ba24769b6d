"""The embeddable widget (/widget.js, <babelcast-chat>) in a real browser: two widgets, English
and Portuguese, on a host page of their own (a file:// page, so the widget runs cross-origin
as it would on a customer's site), chat through the real gateway and the real en<->pt models.

Browser tooling as in tests/chromium.py (skipped without it, failed under CI). The widget's
screenshot is kept in the test's tmp dir (docs/widget.png comes from
tests/browser/test_first_screen_browser.py).
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
except ImportError:  # pragma: no cover - depends on the environment
    pass  # the browser_tools fixture skips (or fails under CI) before these are used

# The browser_tools, gateway, base_url and browser fixtures.
pytest_plugins = ["tests.chromium"]

pytestmark = pytest.mark.e2e

LIPSTICK = "I love this lipstick"
SHIPPING = "tem frete grátis?"
XSS = "<img src=x onerror=alert(1)>"  # an alert would also fail every later driver call
WHILE_AWAY = "obrigada pela live 😍"

DOOMED = "this comment will be deleted"


messages = MessageList(f"{HOST}.shadowRoot")
settled = messages.settled


def test_two_widgets_chat_across_languages(base_url: str, browser: Callable[..., Any],
                                           tmp_path: Path) -> None:
    room = "widget-" + secrets.token_hex(4)
    # English comes from the browser's language; Portuguese from the attribute. The English
    # widget finds its gateway from the script's own URL; the Portuguese one is told.
    en_url = host_page(tmp_path / "en.html", base_url, room, name="Emma")
    pt_url = host_page(tmp_path / "pt.html", base_url, room, name="Ana", lang="pt",
                       server=base_url)
    en, pt = browser(lang="en-US", size=(360, 740)), browser(lang="en-US", size=(360, 740))
    open_widget(en, en_url)
    open_widget(pt, pt_url)
    assert shadow(en, '[data-testid="lang"]').get_attribute("value") == "en"
    assert shadow(pt, '[data-testid="lang"]').get_attribute("value") == "pt"
    # The widget's own words are in the reading language.
    for driver, viewers in ((en, "2 viewers"), (pt, "2 espectadores")):
        wait(driver, "presence to count both viewers", lambda d, v=viewers: shadow(
            d, '[data-testid="presence"]').text == f"{v}: en 1 · pt 1")

    # English -> Portuguese.
    say(en, LIPSTICK)
    seen = wait(pt, "the Portuguese widget to show the translated comment",
                lambda d: settled(d, LIPSTICK))
    assert seen["user"] == "Emma" and seen["translated"], seen
    assert "batom" in seen["text"].lower(), seen
    assert "traduzido do inglês" in seen["meta"] and "ver original" in seen["meta"], seen
    assert not seen["original_shown"] and seen["dir"] == "auto"
    own = wait(en, "the English widget to show its own comment", lambda d: settled(d, LIPSTICK))
    assert own["text"] == LIPSTICK and not own["translated"] and own["mine"], own

    # "show original" reveals the English text.
    shadow(pt, f'[data-id="{seen["id"]}"] [data-testid="toggle-original"]').click()
    shown = wait(pt, "the original to be shown", lambda d: (
        m := settled(d, LIPSTICK)) is not None and m["original_shown"] and m)
    assert shown["original"] == LIPSTICK and "ocultar original" in shown["meta"]

    # Portuguese -> English.
    say(pt, SHIPPING)
    seen = wait(en, "the English widget to show the translated comment",
                lambda d: settled(d, SHIPPING))
    assert seen["user"] == "Ana" and seen["translated"], seen
    assert "free shipping" in seen["text"].lower(), seen
    assert "translated from Portuguese" in seen["meta"], seen

    # Markup in a comment is shown as text and never becomes an element.
    say(en, XSS)
    own = wait(en, "the English widget to show the markup comment", lambda d: settled(d, XSS))
    assert own["text"] == XSS
    other = wait(pt, "the Portuguese widget to show the markup comment",
                 lambda d: settled(d, XSS))
    assert other["original"] == XSS
    for driver in (en, pt):
        assert driver.execute_script(
            f"return {HOST}.shadowRoot.querySelectorAll('img').length"
            " + document.querySelectorAll('img').length") == 0

    # Too long: the counter says so, the send button is off, and Enter explains why.
    en.execute_script(f"""
        const t = {HOST}.shadowRoot.querySelector('[data-testid="input"]');
        t.value = 'x'.repeat(501); t.dispatchEvent(new Event('input'));""")
    assert shadow(en, '[data-testid="count"]').text == "501 / 500"
    assert not shadow(en, '[data-testid="send"]').is_enabled()
    shadow(en, '[data-testid="input"]').send_keys(Keys.ENTER)
    error = wait(en, "the too-long error", lambda d: (
        e := shadow(d, '[data-testid="error"]')).is_displayed() and e)
    assert error.get_attribute("data-code") == "text_too_long"
    assert "too long" in error.text and "500" in error.text
    en.execute_script(f"""
        const t = {HOST}.shadowRoot.querySelector('[data-testid="input"]');
        t.value = ''; t.dispatchEvent(new Event('input'));""")

    # A dropped connection resumes without duplicates or gaps: the English widget goes
    # offline, the Portuguese viewer writes meanwhile, the English widget comes back.
    before = [m["id"] for m in messages(en)]
    en.execute_script(f"{HOST}._debugDropConnection(true)")
    wait(en, "the widget to go offline", lambda d: d.execute_script(
        f"return {HOST}.getAttribute('data-status')") == "offline")
    say(pt, WHILE_AWAY)
    wait(pt, "the Portuguese widget to show its own comment", lambda d: settled(d, WHILE_AWAY))
    assert settled(en, WHILE_AWAY) is None
    en.execute_script(f"{HOST}._debugReconnect()")
    back = wait(en, "the English widget to get the comment written while it was away",
                lambda d: settled(d, WHILE_AWAY))
    assert "😍" in back["text"] and "😍" in back["original"], back
    after = messages(en)
    ids = [m["id"] for m in after]
    assert len(ids) == len(set(ids)), ids
    assert ids == sorted(ids, key=int), ids
    assert ids[:len(before)] == before and len(ids) == len(before) + 1, (before, ids)
    assert [m["original"] for m in after].count(WHILE_AWAY) == 1

    for driver in (en, pt):
        assert not severe_logs(driver)

    # A picture of the Portuguese widget for the docs.
    png = pt.find_element(By.CSS_SELECTOR, "babelcast-chat").screenshot_as_png
    assert png.startswith(b"\x89PNG") and len(png) < 200_000
    (tmp_path / "widget.png").write_bytes(png)


PINNED_JS = f"""
const bar = {HOST}.shadowRoot.querySelector('[data-testid="pinned"]');
return bar && {{
  shown: !bar.hidden && bar.getBoundingClientRect().height > 0,
  id: bar.dataset.id || null,
  pending: bar.dataset.pending === 'true',
  user: bar.querySelector('[data-testid="pinned-user"]').textContent,
  text: bar.querySelector('[data-testid="pinned-text"]').textContent,
}};"""


def pinned(driver: Any) -> dict[str, Any]:
    return dict(driver.execute_script(PINNED_JS))


def test_widget_follows_host_delete_and_pin(base_url: str, gateway: LiveServer,
                                            browser: Callable[..., Any],
                                            tmp_path: Path) -> None:
    room = "widget-host-" + secrets.token_hex(4)
    pt = browser(lang="en-US", size=(360, 740))
    open_widget(pt, host_page(tmp_path / "pt.html", base_url, room, name="Ana", lang="pt"))
    assert not pinned(pt)["shown"]
    host = gateway.viewer(room, query=f"lang=en&name=Host&role=host&host_key={HOST_KEY}")
    bob = gateway.viewer(room, "en", "Bob")
    try:
        ids = {}
        for cid, text in (("c1", DOOMED), ("c2", LIPSTICK)):
            bob.comment(text, client_id=cid)
            ids[text] = bob.expect(lambda f, c=cid: f["type"] == "ack"
                                   and f["client_id"] == c)["id"]
        for text in (DOOMED, LIPSTICK):
            wait(pt, f"the widget to show {text!r}",
                 lambda d, t=text: settled(d, t))

        # The host deletes a comment: it leaves the widget's list.
        host.send({"type": "delete", "id": ids[DOOMED], "client_id": "d1"})
        wait(pt, "the deleted comment to leave the widget", lambda d: all(
            m["original"] != DOOMED for m in messages(d)))
        assert [m["original"] for m in messages(pt)] == [LIPSTICK]

        # The host pins the other one: the bar shows it in the widget's language.
        host.send({"type": "pin", "id": ids[LIPSTICK], "client_id": "p1"})
        bar = wait(pt, "the pinned bar to show the translated comment", lambda d: (
            b := pinned(d))["shown"] and not b["pending"] and b)
        assert bar["id"] == ids[LIPSTICK] and bar["user"] == "Bob", bar
        assert "batom" in bar["text"].lower(), bar

        # Unpinned: the bar goes away.
        host.send({"type": "pin", "id": None, "client_id": "p2"})
        wait(pt, "the pinned bar to disappear", lambda d: not pinned(d)["shown"])
        assert [m["original"] for m in messages(pt)] == [LIPSTICK]
        assert not severe_logs(pt)
    finally:
        host.ws.close()
        bob.ws.close()


def test_widget_joins_a_jwt_gateway_with_its_token(browser: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    from babelcast.gateway.web.auth import RoomTokens

    secret = "widget-test-secret-" + "w" * 32
    tokens = RoomTokens(secret)
    room = "widget-jwt-" + secrets.token_hex(4)
    with live_server(auth="jwt", jwt_secret=secret, engine="none") as srv:
        ana = tokens.issue(room, "user-ana", "Ana (verified)", "viewer", 600).token
        # `name` is ignored when the token names the user.
        page = host_page(tmp_path / "jwt.html", srv.http, room, name="TheHost", token=ana,
                         lang="en")
        driver = browser(lang="en-US", size=(360, 740))
        open_widget(driver, page)
        other = srv.viewer(room, query="lang=en&token="
                           + tokens.issue(room, "user-bob", "Bob", "viewer", 600).token)
        try:
            say(driver, "hello from the widget")
            got = other.expect_comment("hello from the widget")
            assert got["user"] == "Ana (verified)" and got["user_id"] == "user-ana"
            assert not severe_logs(driver)
        finally:
            other.close()


def test_a_comment_held_for_its_translation_takes_its_place_by_id(
        browser: Callable[..., Any], tmp_path: Path) -> None:
    # The engine blocks until released: the English comment is held back from the Portuguese
    # widget while a later emoji-only comment (no translation needed) reaches it first.
    from tests.live.test_translation_hold import GatedEngine

    engine = GatedEngine()
    with live_server(engines=[engine], translation_wait_ms=30_000) as srv:
        room = "held-" + secrets.token_hex(4)
        pt = browser(lang="en-US", size=(360, 740))
        open_widget(pt, host_page(tmp_path / "pt.html", srv.http, room, name="Ana",
                                  lang="pt", server=srv.http))
        bob = srv.viewer(room, "en", "Bob")
        bob.comment("Does it come in red?")
        bob.expect_comment("Does it come in red?")
        bob.comment("😍😍")
        bob.expect_comment("😍😍")
        wait(pt, "the emoji comment", lambda d: settled(d, "😍😍"))
        assert [m["original"] for m in messages(pt)] == ["😍😍"]

        engine.release.set()
        held = wait(pt, "the held comment, translated",
                    lambda d: settled(d, "Does it come in red?"))
        assert held["translated"] and held["text"] == "[pt] Does it come in red?", held
        assert [m["original"] for m in messages(pt)] == ["Does it come in red?", "😍😍"]
        assert int(held["id"]) < int(messages(pt)[1]["id"])
