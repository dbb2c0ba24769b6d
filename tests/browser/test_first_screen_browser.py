"""What a viewer and a host see first, in a real browser against the real gateway (embedded
en<->pt models): the widget's own words in the viewer's language, untranslated comments that
say why in words, an empty room that says so, a console that shows why the server refused its
key and fits a laptop screen, and the docs' screenshots of a multilingual room.

Browser tooling as in tests/chromium.py (skipped without it, failed under CI). Set
``BROWSER_ARTIFACTS`` to a folder to keep the screenshots there: docs/console.png,
docs/widget.png and docs/widget-phone.png are made by
``test_a_multilingual_room_fits_and_is_pictured``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import HOST, HOST_KEY, MessageList, host_page, open_widget, shadow, wait
from tests.harness import LiveServer, Viewer

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - depends on the environment
    pass  # the browser_tools fixture skips (or fails under CI) before these are used

# The browser_tools, gateway, base_url and browser fixtures.
pytest_plugins = ["tests.chromium"]

pytestmark = pytest.mark.e2e

WIDGET = f"{HOST}.shadowRoot"
messages = MessageList(WIDGET)

# The widget's words each language must have (checked against what the page shows).
WORDS = {
    "en": ("Send", "Say something…", "No comments yet — say hi 👋", "connected"),
    "pt": ("Enviar", "Diga algo…", "Nenhum comentário ainda — diga oi 👋", "conectado"),
    "es": ("Enviar", "Escribe algo…", "Aún no hay comentarios — ¡saluda! 👋", "conectado"),
    "ko": ("보내기", "메시지를 입력하세요…", "아직 댓글이 없어요 — 인사를 남겨 보세요 👋",
           "연결됨"),
    "ja": ("送信", "メッセージを入力…", "まだコメントはありません — あいさつしてみましょう 👋",
           "接続済み"),
    "zh": ("发送", "说点什么…", "还没有评论 — 来打个招呼吧 👋", "已连接"),
}

SHOWN_JS = f"""
const root = {WIDGET};
const q = (id) => root.querySelector(`[data-testid="${{id}}"]`);
return {{
  send: q('send').textContent, placeholder: q('input').placeholder,
  empty: q('empty').hidden ? null : q('empty').textContent,
  status: q('status').textContent, ui_lang: root.querySelector('.root').lang,
  list_shown: !q('messages').hidden,
}};"""


def shown(driver: Any) -> dict[str, Any]:
    return dict(driver.execute_script(SHOWN_JS))


def save_artifact(png: bytes, name: str, tmp_path: Path) -> None:
    assert png.startswith(b"\x89PNG") and len(png) < 400_000
    (tmp_path / name).write_bytes(png)
    if out := os.environ.get("BROWSER_ARTIFACTS"):
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / name).write_bytes(png)


def test_widget_speaks_the_viewers_language(base_url: str, gateway: LiveServer,
                                            browser: Callable[..., Any],
                                            tmp_path: Path) -> None:
    room = "words-" + secrets.token_hex(4)
    driver = browser(lang="en-US", size=(400, 700))
    open_widget(driver, host_page(tmp_path / "w.html", base_url, room, name="Ana", lang="ko"))
    # The picker switches in place; the widget's own words follow the reading language.
    for lang, (send, placeholder, empty, status) in [("ko", WORDS["ko"]),
                                                     *[(k, v) for k, v in WORDS.items()
                                                       if k != "ko"]]:
        if lang != "ko":
            Select(shadow(driver, '[data-testid="lang"]')).select_by_value(lang)
        now = wait(driver, f"the widget's words in {lang}", lambda d, s=status: (
            x := shown(d))["status"] == s and x)
        assert now == {"send": send, "placeholder": placeholder, "empty": empty,
                       "status": status, "ui_lang": lang, "list_shown": False}, now
    # A language the widget has no words for reads them in English.
    Select(shadow(driver, '[data-testid="lang"]')).select_by_value("fr")
    now = wait(driver, "English words for French", lambda d: (
        x := shown(d))["ui_lang"] == "en" and x)
    assert now["send"] == "Send" and now["empty"] == WORDS["en"][2]
    # The first comment replaces the empty-room message.
    sender = gateway.viewer(room, "fr", "Zoé")
    try:
        sender.comment("bonjour à tous")
        wait(driver, "the comment", lambda d: len(messages(d)) == 1)
    finally:
        sender.close()
    now = shown(driver)
    assert now["empty"] is None and now["list_shown"], now


def test_untranslated_comments_say_why_in_the_viewers_words(
        base_url: str, gateway: LiveServer, browser: Callable[..., Any],
        tmp_path: Path) -> None:
    room = "why-" + secrets.token_hex(4)
    driver = browser(lang="en-US", size=(400, 700))
    open_widget(driver, host_page(tmp_path / "w.html", base_url, room, name="Ana", lang="pt"))
    sender = gateway.viewer(room, "ko", "민지")
    try:
        sender.comment("이거 빨간색도 있어요?")
        got = wait(driver, "the Korean comment", lambda d: (m := messages(d)) and m[0])
    finally:
        sender.close()
    assert not got["translated"] and got["text"] == "이거 빨간색도 있어요?", got
    assert got["meta"] == "não traduzido: ainda não há modelo para coreano → português", got
    assert driver.execute_script(
        f"return {WIDGET}.querySelector('[data-testid=\"message-meta\"]').dataset.reason"
    ) == "no_route"


def test_console_shows_why_the_server_refused_its_key(base_url: str,
                                                      browser: Callable[..., Any]) -> None:
    room = "refused-" + secrets.token_hex(4)
    page = browser(lang="en-US", size=(1000, 700))
    page.get(f"{base_url}/host/{room}?key=not-the-key&lang=en")
    notice = wait(page, "the console's notice", lambda d: (t := d.find_element(
        By.CSS_SELECTOR, '[data-testid="console-notice"]').text) and "refused" in t and t)
    assert "role=host needs the right host_key" in notice, notice
    assert "?key=" in notice, notice
    error = wait(page, "the widget's error", lambda d: (e := shadow(
        d, '[data-testid="error"]')).is_displayed() and e.text)
    assert "You are not allowed to do that." in error
    assert "role=host needs the right host_key" in error, error
    assert page.execute_script(f"return {HOST}.getAttribute('data-status')") == "closed"


# The multilingual room of the screenshots: (language, name, comment).
ROOM = [
    ("pt", "Ana", "Qual é o preço do frete para o Brasil?"),
    ("en", "Emma", "I love this lipstick, the color is amazing 😍"),
    ("ko", "민지", "이거 빨간색도 있어요?"),
    ("ja", "ゆい", "この色はとてもかわいいですね"),
    ("zh", "小明", "这个多少钱？"),
    ("pt", "Bruno", "quanto custa o Glow Kit com o pincel?"),
    ("es", "Lucía", "¿Hacen envíos a México?"),
    ("en", "Noah", "Is it too expensive for a first try?"),
    ("pt", "Carla", "adorei a live, obrigada! 🥰"),
]

FIT_JS = f"""
const inside = (r) => r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0
    && r.right <= window.innerWidth && r.height > 0;
const root = {WIDGET};
const cues = document.querySelector('[data-testid="insights-cues"]');
return {{
  height: window.innerHeight, width: window.innerWidth,
  page_scrolls: document.documentElement.scrollHeight > window.innerHeight
      || document.documentElement.scrollWidth > window.innerWidth,
  send: inside(root.querySelector('[data-testid="send"]').getBoundingClientRect()),
  input: inside(root.querySelector('[data-testid="input"]').getBoundingClientRect()),
  cues: cues.children.length > 0 && inside(cues.getBoundingClientRect()),
  queue: inside(document.querySelector('[data-testid="question-queue"]')
      .getBoundingClientRect()),
}};"""


def _fill(gateway: LiveServer, room: str) -> list[Viewer]:
    """The room's comments, its glossary (products mentioned) and a pinned comment."""
    assert gateway.put("/v1/glossaries/first-screen",
                       json={"terms": [{"term": "Glow Kit"}]}).status_code in (200, 201)
    assert gateway.put(f"/v1/rooms/{room}/settings",
                       json={"glossary": "first-screen"}).status_code == 200
    viewers = []
    for lang, name, text in ROOM:
        v = gateway.viewer(room, lang, name)
        v.comment(text)
        got = v.expect_comment(text)
        viewers.append(v)
        if name == "Emma":
            host = gateway.viewer(room, query=f"lang=en&name=Host&role=host&host_key={HOST_KEY}")
            viewers.append(host)
            host.send({"type": "pin", "id": got["id"], "client_id": "p1"})
            host.expect(lambda f: f["type"] == "ack" and f["client_id"] == "p1")
    return viewers


def test_a_multilingual_room_fits_and_is_pictured(base_url: str, gateway: LiveServer,
                                                  browser: Callable[..., Any],
                                                  tmp_path: Path) -> None:
    room = "live-" + secrets.token_hex(3)
    viewers = _fill(gateway, room)
    try:
        # The console beside the streaming software on a 1400x757 laptop screen: nothing
        # below the fold, the chat's send box and the mood cues in view.
        console = browser(lang="en-US", size=(1400, 757))
        console.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 1400, "height": 757, "deviceScaleFactor": 1, "mobile": False})
        console.get(f"{base_url}/host/{room}?key={HOST_KEY}&lang=en&name=Host")
        wait(console, "the console's chat", lambda d: len(messages(d)) == len(ROOM)
             and not any(m["pending"] for m in messages(d)))
        wait(console, "the questions and the mood cues", lambda d: d.execute_script(
            "return document.querySelector('[data-testid=\"insights-cues\"]').children.length"
            " > 0 && document.querySelectorAll('[data-testid=\"question\"]').length >= 4"))
        fit = console.execute_script(FIT_JS)
        assert (fit["width"], fit["height"]) == (1400, 757), fit
        assert fit == {**fit, "page_scrolls": False, "send": True, "input": True, "cues": True,
                       "queue": True}, fit
        korean = next(m for m in messages(console) if m["user"] == "민지")
        assert korean["meta"] == "not translated: no model for Korean → English yet", korean
        save_artifact(console.get_screenshot_as_png(), "console.png", tmp_path)

        # The Portuguese viewer's widget on a customer's page.
        pt = browser(lang="pt-BR", size=(420, 760))
        open_widget(pt, host_page(tmp_path / "pt.html", base_url, room, name="Júlia",
                                  lang="pt", server=base_url))
        wait(pt, "every comment, settled", lambda d: len(messages(d)) == len(ROOM)
             and not any(m["pending"] for m in messages(d)))
        emma = next(m for m in messages(pt) if m["user"] == "Emma")
        assert emma["translated"] and "traduzido do inglês" in emma["meta"], emma
        save_artifact(pt.find_element(By.CSS_SELECTOR, "babelcast-chat").screenshot_as_png,
                      "widget.png", tmp_path)

        # A Korean viewer on a phone: the widget's words in Korean, CJK text in its fonts.
        phone = browser(lang="ko-KR", size=(375, 740))
        phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
        open_widget(phone, host_page(tmp_path / "ko.html", base_url, room, name="지수",
                                    lang="ko"))
        wait(phone, "every comment", lambda d: len(messages(d)) == len(ROOM))
        assert shown(phone)["send"] == "보내기"
        ana = next(m for m in messages(phone) if m["user"] == "Ana")
        assert ana["meta"] == "번역되지 않음: 아직 포르투갈어 → 한국어 번역 모델이 없습니다", ana
        save_artifact(phone.find_element(By.CSS_SELECTOR, "babelcast-chat").screenshot_as_png,
                      "widget-phone.png", tmp_path)
    finally:
        for v in viewers:
            v.close()
