"""Two gateway nodes sharing rooms through a real Redis, real models on both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from babelcast.gateway.bus.redis import redis_backend
from tests.harness import LiveServer, live_server


@pytest.fixture
def nodes(redis_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    with live_server(backend=redis_backend(redis_url)) as a, \
            live_server(backend=redis_backend(redis_url)) as b:
        yield a, b


def test_viewers_on_two_nodes_read_each_other_translated(
        nodes: tuple[LiveServer, LiveServer]) -> None:
    a, b = nodes
    en = a.viewer("live", "en", "Bob")
    pt = b.viewer("live", "pt", "Ana")
    assert pt.welcome["presence"]["viewers"] == {"en": 1, "pt": 1}

    pt.comment("tem frete grátis?", client_id="c1")
    got = en.expect_final("tem frete grátis?")
    assert got["translated"] is True and "free shipping" in got["text"].lower()

    en.comment("I love this lipstick", client_id="c2")
    got = pt.expect_final("I love this lipstick")
    assert got["translated"] is True and "batom" in got["text"].lower()

    # One order for the room on both nodes.
    en.expect_comment("I love this lipstick")
    pt.expect_comment("tem frete grátis?")
    order_a = [f["id"] for f in en.frames if f["type"] == "comment"]
    order_b = [f["id"] for f in pt.frames if f["type"] == "comment"]
    assert order_a == order_b == ["1", "2"]
    # Room state is the cluster's, whichever node is asked.
    assert a.get("/v1/rooms/live").json()["viewers"] == {"en": 1, "pt": 1}
    assert b.get("/v1/rooms/live").json()["messages"] == 2


def test_resume_on_the_other_node_gets_exactly_what_was_missed(
        nodes: tuple[LiveServer, LiveServer]) -> None:
    a, b = nodes
    en = a.viewer("resume", "en", "Bob")
    pt = a.viewer("resume", "pt", "Ana")
    en.comment("first", client_id="f")
    last_seen = pt.expect_comment("first")["id"]
    epoch = pt.welcome["epoch"]
    pt.close()
    missed = ["second", "third"]
    for text in missed:
        en.comment(text, client_id=text)
        en.expect(lambda f, t=text: f["type"] == "ack" and f["client_id"] == t)
    back = b.viewer("resume", "pt", "Ana", since=last_seen,
                    query=f"lang=pt&name=Ana&epoch={epoch}")
    assert back.welcome["epoch"] == epoch and back.welcome["gap"] is False
    assert [f["original"] for f in back.welcome["history"]] == missed
    en.comment("fourth")
    back.expect_comment("fourth")
    assert [f["original"] for f in back.frames if f["type"] == "comment"] == ["fourth"]


def test_a_translation_owed_by_one_node_is_not_made_again_unless_that_node_dies(
        redis_url: str) -> None:
    from tests.live.test_faults import FaultyEngine

    slow = FaultyEngine()  # node A's real model, made to hang on demand
    slow.hang()
    try:
        with live_server(engines=[slow], backend=redis_backend(redis_url), translation_wait_ms=50,
                         translation_timeout_ms=60_000) as a, \
                live_server(backend=redis_backend(redis_url), translation_wait_ms=50,
                            translation_timeout_ms=1000) as b:
            en = a.viewer("owed", "en", "Bob")
            pt = b.viewer("owed", "pt", "Ana")

            def b_translations() -> int:
                return b.get("/v1/stats").json()["translation"]["requests"]

            en.comment("I love this lipstick")
            first = pt.expect_comment("I love this lipstick")
            assert first["pending"] is True  # node A owes it
            assert slow.hung.wait(10)
            slow.release()
            done = pt.expect(lambda f: f["type"] == "translation" and f["id"] == first["id"])
            assert done["translated"] is True and "batom" in done["text"].lower()
            assert b_translations() == 0  # node B waited for node A's, made none

            slow.hang()
            en.comment("Is it waterproof?")
            second = pt.expect_comment("Is it waterproof?")
            assert second["pending"] is True and slow.hung.wait(10)
            a.stop()  # node A dies owing the translation
            # Node B makes it itself once node A's would have timed out (1 s + 2 s here).
            late = pt.expect(lambda f: f["type"] == "translation" and f["id"] == second["id"])
            assert late["translated"] is True and b_translations() == 1
            # Counted: two comments, one translation each.
            assert [f["type"] for f in pt.frames if f["type"] in ("comment", "translation")] \
                == ["comment", "translation", "comment", "translation"]
    finally:
        slow.release()
