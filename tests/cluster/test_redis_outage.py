"""Redis goes away mid-stream: gateway nodes keep their viewers connected, report degraded,
retry, and once Redis is back deliver every comment accepted meanwhile, in order."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from babelcast.gateway.bus.redis import RedisBus, redis_backend
from tests.harness import LiveServer, live_server
from tests.redis_server import RedisServer


@pytest.fixture
def durable_redis() -> Iterator[RedisServer]:
    server = RedisServer(durable=True).start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def ready_status(node: LiveServer) -> int:
    return node.get("/readyz").status_code


def test_local_viewers_keep_chatting_through_an_outage_and_nothing_is_lost_or_doubled(
        durable_redis: RedisServer) -> None:
    url = durable_redis.url
    with live_server(backend=redis_backend(url)) as a, live_server(backend=redis_backend(url)) as b:
        en = a.viewer("outage", "en", "Bob")
        pt = a.viewer("outage", "pt", "Ana")  # on the same node as Bob
        far = b.viewer("outage", "pt", "Rui")  # on the other node
        en.comment("before", client_id="b0")
        for viewer in (en, pt, far):
            viewer.expect_comment("before")

        durable_redis.halt()
        during = [(en, "first while down"), (pt, "tem frete grátis?"),
                  (en, "second while down"), (en, "third while down")]
        provisional = {}
        for n, (sender, text) in enumerate(during):
            sender.comment(text, client_id=f"d{n}")
            ack = sender.expect(lambda f, c=f"d{n}": f["type"] == "ack" and f["client_id"] == c)
            assert ack["provisional"] is True and ack["id"].startswith("~")
            provisional[text] = ack["id"]
            # Node A's viewers see it at once, marked provisional, each exactly as acked.
            for viewer in (en, pt):
                got = viewer.expect_comment(text)
                assert got["provisional"] is True and got["id"] == ack["id"]
        # Bob reads Ana's comment translated by node A's own model, Redis or not.
        shown = next(f for f in en.frames if f["type"] == "comment"
                     and f["original"] == "tem frete grátis?")
        if shown["pending"]:
            shown = en.expect(lambda f: f["type"] == "translation" and f["id"] == shown["id"])
        assert shown["translated"] is True and "free shipping" in shown["text"].lower()
        wait_until(lambda: ready_status(a) == 503)  # degraded is visible
        assert a.get("/v1/stats").json()["degraded"] is True

        durable_redis.start()
        texts = [text for _sender, text in during]
        for viewer in (en, pt, far):
            finals = [viewer.expect(lambda f, t=text: f["type"] == "comment"
                                    and f["original"] == t and "provisional" not in f,
                                    timeout=30) for text in texts]
            # Published in the order node A accepted them; each names its provisional copy.
            assert [f["id"] for f in finals] == ["2", "3", "4", "5"]
            assert [f["replaces"] for f in finals] == [provisional[t] for t in texts]
        # Counted: node A's viewers got each comment twice (provisional, then its
        # replacement), the other node's viewer once; nobody got anything else.
        for viewer, copies in ((en, 2), (pt, 2), (far, 1)):
            originals = [f["original"] for f in viewer.frames if f["type"] == "comment"]
            assert originals == ["before", *texts] + (texts if copies == 2 else [])
        wait_until(lambda: ready_status(a) == 200 and ready_status(b) == 200)

        # Resuming after "before" on either node gets exactly the four, in order.
        back = b.viewer("outage", "en", "Bob", since="1",
                        query=f"lang=en&name=Bob&epoch={en.welcome['epoch']}")
        assert [f["original"] for f in back.welcome["history"]] == texts
        assert [f["id"] for f in back.welcome["history"]] == ["2", "3", "4", "5"]
        assert back.welcome["gap"] is False
        # And the chat simply goes on.
        far.comment("tudo certo?")
        got = en.expect_comment("tudo certo?")
        assert got["id"] == "6" and "replaces" not in got and "provisional" not in got


def test_a_held_comment_takes_the_translations_made_while_it_waited(
        durable_redis: RedisServer) -> None:
    import asyncio

    from babelcast.gateway.bus.base import CommentDraft
    from babelcast.gateway.events import CommentPublished, TranslationPublished
    from babelcast.translation import Translation

    async def next_event(sub: object) -> object:
        return await asyncio.wait_for(sub.queue.get(), 30)  # type: ignore[attr-defined]

    async def run() -> None:
        bus = RedisBus(durable_redis.url)
        await bus.start()
        try:
            sub = await bus.subscribe("held")
            durable_redis.halt()
            held = [await bus.publish_comment(CommentDraft(
                room="held", user="Ana", user_id="u-1", text=text, src_lang="pt",
                translations={})) for text in ("primeiro", "segundo")]
            assert all(m.id < 0 for m in held) and bus.degraded
            for m in held:  # delivered to this node's subscribers at once
                event = await next_event(sub)
                assert isinstance(event, CommentPublished) and event.message.id == m.id
            # A translation finished while Redis is down: shown locally now, under the
            # provisional id.
            done = Translation("en", "first", True, None, "test")
            assert await bus.publish_translation("held", held[0].id, done, epoch=bus.epoch)
            event = await next_event(sub)
            assert isinstance(event, TranslationPublished) and event.message_id == held[0].id
            assert not await bus.publish_translation("held", held[0].id, done,
                                                     epoch=bus.epoch)  # once

            durable_redis.start()
            published = [await next_event(sub) for _ in held]
            assert [e.message.id for e in published] == [1, 2]  # type: ignore[attr-defined]
            assert [-e.message.replaces for e in published] == [m.id for m in held]  # type: ignore[attr-defined]
            # The translation travelled with the comment: every node has it.
            assert published[0].message.translations == {"en": done}  # type: ignore[attr-defined]
            msgs, _gap = await bus.history("held")
            assert [(m.id, m.text) for m in msgs] == [(1, "primeiro"), (2, "segundo")]
            assert msgs[0].translations == {"en": done} and not bus.degraded
            # Later translations of a held comment go to its published id.
            late = Translation("es", "segundo (es)", True, None, "test")
            assert await bus.publish_translation("held", held[1].id, late, epoch=bus.epoch)
            event = await next_event(sub)
            assert isinstance(event, TranslationPublished) and event.message_id == 2
        finally:
            await bus.close()

    asyncio.run(run())
