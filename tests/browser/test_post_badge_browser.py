"""A message a back end posted through ``POST /v1/rooms/{room}/messages`` shows in the widget
with a badge saying who posted it (in the widget's language), translated like a comment; a
viewer's comment has none. Chromium, as in tests/chromium.py."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.chromium import HOST, host_page, open_widget, wait
from tests.harness import LiveServer

pytest_plugins = ["tests.chromium"]

BADGES_JS = f"""
return Array.from({HOST}.shadowRoot.querySelectorAll('[data-testid="message"]')).map(li => {{
  const badge = li.querySelector('[data-testid="message-badge"]');
  return {{from: li.dataset.from || null, badge: badge.hidden ? null : badge.textContent,
          user: li.querySelector('[data-testid="message-user"]').textContent,
          text: li.querySelector('[data-testid="message-text"]').textContent,
          translated: li.dataset.translated === 'true'}};
}});
"""


def test_a_shop_announcement_has_a_badge(gateway: LiveServer, base_url: str,
                                         browser: Callable[..., Any], tmp_path: Path) -> None:
    room = "badge-" + secrets.token_hex(4)
    driver = browser()
    open_widget(driver, host_page(tmp_path / "pt.html", base_url, room, lang="pt",
                                  name="Bia"))
    # A viewer's comment first: no badge.
    viewer = gateway.viewer(room, "en", "Ana")
    viewer.comment("hello everyone", client_id="c")
    r = gateway.post(f"/v1/rooms/{room}/messages",
                     json={"text": "I love this lipstick", "as": "shop", "name": "Loja",
                           "lang": "en"})
    assert r.status_code == 201, r.text
    shown = wait(driver, "the announcement, translated, with its badge", lambda d: (
        rows if len(rows := d.execute_script(BADGES_JS)) == 2 and rows[1]["translated"]
        else None))
    assert shown[0]["from"] is None and shown[0]["badge"] is None
    assert shown[1]["from"] == "shop" and shown[1]["badge"] == "Loja"  # pt: the shop
    assert shown[1]["user"] == "Loja" and "batom" in shown[1]["text"].lower()
