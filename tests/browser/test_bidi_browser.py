"""User text with bidi controls (an unpaired RLO, LRI or RLI) stays inside its own element in
the host console: the host's pin/delete/mute buttons stay after the text, in order, on every
message; a name's bidi controls are stripped by the server. Chromium, as in tests/chromium.py."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from tests.chromium import HOST, HOST_KEY, wait
from tests.harness import LiveServer

pytest_plugins = ["tests.chromium"]

WIDGET = f"{HOST}.shadowRoot"
TEXTS = {
    "plain": "plain comment for comparison",
    "rlo": "\u202edeal of the day, 50% off",  # RLO, never closed by a PDF
    "lri": "\u2066left isolate never closed",  # LRI, no PDI
    "rli": "\u2067\u05e9\u05dc\u05d5\u05dd right isolate never closed",  # RLI, no PDI
    "mixed": "price \u202e\u2067 reversed \u202a twice",
}

LAYOUT_JS = f"""
return Array.from({WIDGET}.querySelectorAll('[data-testid="message"]')).map(li => {{
  const box = (e) => {{ const r = e.getBoundingClientRect();
                        return {{left: r.left, right: r.right, top: r.top, bottom: r.bottom}}; }};
  const text = li.querySelector('[data-testid="message-text"]');
  const rects = Array.from(text.getClientRects()).map(r => ({{right: r.right, top: r.top,
                                                             bottom: r.bottom}}));
  const user = li.querySelector('[data-testid="message-user"]');
  const buttons = ['pin', 'delete', 'mute'].map(a =>
      li.querySelector(`[data-testid="action-${{a}}"]`));
  return {{id: li.dataset.id, original: li.querySelector(
            '[data-testid="message-original"]').textContent,
          user: box(user), text: box(text), lines: rects,
          buttons: buttons.map(b => b ? box(b) : null)}};
}});
"""


def after(button: dict[str, float], end: dict[str, float]) -> bool:
    """Whether ``button`` lies after a text whose last line box is ``end`` (left to right):
    on that line to its right, or on a later line."""
    return button["top"] >= end["bottom"] - 1 or (button["left"] >= end["right"] - 1
                                                  and button["top"] < end["bottom"])


def test_bidi_controls_stay_inside_the_text_and_out_of_the_buttons(
        gateway: LiveServer, browser: Callable[..., Any]) -> None:
    room = "bidi-" + secrets.token_hex(4)
    console = browser(lang="en-US", size=(1200, 820))
    console.get(f"{gateway.http}/host/{room}?key={HOST_KEY}&lang=en&name=Host")
    wait(console, "the console's chat to connect", lambda d: d.execute_script(
        f"return {HOST}.getAttribute('data-status')") == "connected")
    sender = gateway.viewer(room, "en", "\u202eevil\u2067")
    for n, text in enumerate(TEXTS.values()):
        sender.comment(text, client_id=f"b{n}")
        sender.expect(lambda f, c=f"b{n}": f["type"] == "ack" and f["client_id"] == c)
    # The name's controls are gone on the wire.
    assert sender.expect_comment(TEXTS["plain"])["user"] == "evil"

    rows = wait(console, "every comment with its host actions", lambda d: (
        r := d.execute_script(LAYOUT_JS)) and len(r) == len(TEXTS)
        and all(all(r_b is not None for r_b in row["buttons"]) for row in r) and r)
    for row in rows:
        pin, delete, mute = row["buttons"]
        end = row["lines"][-1]
        for button in (pin, delete, mute):
            assert after(button, end), (row["original"], button, end)
            assert button["left"] >= row["user"]["right"] - 1, row["original"]
        # In their order, left to right, on one line.
        assert pin["right"] <= delete["left"] + 1 and delete["right"] <= mute["left"] + 1, row
        assert pin["top"] == delete["top"] == mute["top"], row
        # The name comes first, before the text.
        assert row["user"]["right"] <= row["text"]["left"] + 1, row
