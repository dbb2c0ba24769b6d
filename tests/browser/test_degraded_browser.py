"""Degraded mode in real browsers: while Redis is down, the widget and the demo page show a
node's comments at once as provisional entries, and swap each for its published copy when
Redis is back, so each comment ends up shown once, in id order (docs/protocol.md, "Degraded
mode"). Browser tooling as in tests/chromium.py; Redis as in tests/redis_server.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from babelcast.gateway.bus.redis import redis_backend
from tests.browser.test_demo_page_browser import join
from tests.browser.test_demo_page_browser import messages as page_messages
from tests.browser.test_widget_browser import messages as widget_messages
from tests.chromium import host_page, open_widget, severe_logs, wait
from tests.harness import live_server
from tests.redis_server import RedisServer

# The browser_tools and browser fixtures.
pytest_plugins = ["tests.chromium"]

pytestmark = pytest.mark.e2e

ROOM = "degraded"
DURING = ["one while Redis is down", "two while Redis is down"]


def shown(read: Callable[[Any], list[dict[str, Any]]], driver: Any) -> list[tuple[str, str]]:
    return [(m["id"], m["original"]) for m in read(driver)]


def test_provisional_comments_are_swapped_for_published_ones(
        browser_tools: None, browser: Callable[..., Any], tmp_path: Path) -> None:
    redis = RedisServer(durable=True).start()
    try:
        with live_server(backend=redis_backend(redis.url)) as srv:
            widget, page = browser(), browser()
            open_widget(widget, host_page(tmp_path / "host.html", srv.http, ROOM, name="Emma",
                                          lang="en", server=srv.http))
            join(page, srv.http, "Ana", "en", ROOM)
            bob = srv.viewer(ROOM, "en", "Bob")
            uis = ((widget, widget_messages), (page, page_messages))
            bob.comment("before Redis stops")
            for driver, read in uis:
                wait(driver, "the first comment", lambda d, r=read: shown(r, d) == [
                    ("1", "before Redis stops")])

            redis.halt()
            for n, text in enumerate(DURING):
                bob.comment(text, client_id=f"d{n}")
                bob.expect(lambda f, c=f"d{n}": f["type"] == "ack" and f["client_id"] == c)
            for driver, read in uis:
                got = wait(driver, "the provisional comments", lambda d, r=read: (
                    s := shown(r, d))[1:] and [t for _i, t in s[1:]] == DURING and s)
                assert all(i.startswith("~") for i, _t in got[1:])

            redis.start()
            for driver, read in uis:
                # Each provisional entry replaced in place: three comments, real ids, once.
                wait(driver, "the published comments", lambda d, r=read: shown(r, d) == [
                    ("1", "before Redis stops"), ("2", DURING[0]), ("3", DURING[1])])
                assert severe_logs(driver) == []
    finally:
        redis.stop()
