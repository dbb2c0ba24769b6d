"""Redis comes back without its data (no persistence, a failover to an empty replica, a
FLUSHALL): message ids start over, so they must under a new epoch. A viewer resuming with an
old id is told it missed messages and gets the room afresh; a translation made for a comment
from before the loss never attaches to the comment that has its id now. On one node and
across two."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import redis

from babelcast.gateway.bus.base import CommentDraft, Subscription
from babelcast.gateway.bus.redis import RedisBus, redis_backend
from babelcast.gateway.events import CommentPublished, EpochChanged, RoomEvent
from babelcast.translation import Translation
from tests.harness import LiveServer, live_server
from tests.redis_server import RedisServer


def draft(text: str, room: str = "r") -> CommentDraft:
    return CommentDraft(room=room, user="Ana", user_id="u-1", text=text, src_lang="pt",
                        translations={})


async def take(sub: Subscription, n: int) -> list[RoomEvent]:
    return [await asyncio.wait_for(sub.queue.get(), 10) for _ in range(n)]


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.mark.parametrize("nodes", [1, 2])
def test_ids_start_over_under_a_new_epoch_and_old_translations_attach_to_nothing(
        redis_server: RedisServer, nodes: int) -> None:
    """Bus level: node ``a`` published before the loss and translates late; the first
    publish after it (on ``b``, which is ``a`` itself on one node) starts a new epoch."""
    redis_server.flush()

    async def run() -> None:
        a = RedisBus(redis_server.url)
        b = a if nodes == 1 else RedisBus(redis_server.url)
        for bus in {a, b}:
            await bus.start()
        try:
            sub = await a.subscribe("r")
            before = [await a.publish_comment(draft(f"antes {i}")) for i in range(3)]
            assert [m.id for m in before] == [1, 2, 3]
            old = a.epoch
            assert {m.epoch for m in before} == {old}
            assert len(await take(sub, 3)) == 3

            redis_server.flush()
            after = [await b.publish_comment(draft(f"depois {i}")) for i in range(4)]
            assert [m.id for m in after] == [1, 2, 3, 4]  # ids started over...
            assert {m.epoch for m in after} == {b.epoch} and b.epoch != old  # ...renamed
            # The late translation of "antes 1" (id 2 of the old epoch) is refused, not
            # attached to "depois 1", which has id 2 now; node a learns the new epoch.
            late = Translation("en", "before 1", True)
            assert await a.publish_translation("r", 2, late, epoch=old) is False
            assert a.epoch == b.epoch
            assert await a.translation("r", 2, "en", epoch=old) is None
            msgs, gap = await a.history("r")
            assert [(m.id, m.text, m.translations) for m in msgs] == [
                (m.id, m.text, {}) for m in after] and gap is False
            # a's viewers were told before any event of the new epoch.
            events = await take(sub, 5)
            assert events[0] == EpochChanged("r", b.epoch)
            assert [e.message.text for e in events[1:]  # type: ignore[union-attr]
                    if isinstance(e, CommentPublished)] == [m.text for m in after]
            # A new translation of the new id 2 attaches to it, under the new epoch.
            fresh = Translation("en", "after 1", True)
            assert await a.publish_translation("r", 2, fresh, epoch=after[1].epoch) is True
            assert (await b.history("r"))[0][1].translations == {"en": fresh}
        finally:
            for bus in {a, b}:
                await bus.close()

    asyncio.run(run())


@pytest.fixture
def two_nodes(redis_server: RedisServer, request: pytest.FixtureRequest,
              ) -> Iterator[tuple[LiveServer, LiveServer]]:
    redis_server.flush()
    with ExitStack() as stack:
        a = stack.enter_context(live_server(backend=redis_backend(redis_server.url),
                                            translation_wait_ms=50))
        b = a if request.param == 1 else stack.enter_context(
            live_server(backend=redis_backend(redis_server.url), translation_wait_ms=50))
        yield a, b


@pytest.mark.parametrize("two_nodes", [1, 2], indirect=True)
def test_a_viewer_resuming_after_redis_lost_its_data_gets_a_gap_and_every_message(
        redis_server: RedisServer, two_nodes: tuple[LiveServer, LiveServer]) -> None:
    a, b = two_nodes
    ana = a.viewer("loss", "pt", "Ana")
    for text in ("um", "dois", "três"):
        ana.comment(text)
        ana.expect_comment(text)
    old = ana.welcome["epoch"]
    ana.close()

    redis_server.flush()
    # Both nodes notice the loss by themselves within a second (nobody writes here yet).
    wait_until(lambda: a.gateway.bus.epoch != old and b.gateway.bus.epoch != old)
    bob = b.viewer("loss", "pt", "Bob")
    assert bob.welcome["epoch"] != old and bob.welcome["history"] == []
    after = [f"depois {i}" for i in range(5)]  # ids 1-5: past Ana's 3
    for text in after:
        bob.comment(text)
        assert bob.expect_comment(text)["id"] == str(after.index(text) + 1)

    back = a.viewer("loss", "pt", "Ana", since="3", query=f"lang=pt&name=Ana&epoch={old}")
    assert back.welcome["gap"] is True  # not "nothing missed"
    assert back.welcome["epoch"] == bob.welcome["epoch"]
    assert [f["original"] for f in back.welcome["history"]] == after  # none skipped


@pytest.mark.parametrize("nodes", [1, 2])
def test_a_late_translation_never_attaches_to_the_comment_that_has_its_id_now(
        redis_server: RedisServer, nodes: int) -> None:
    from tests.live.test_faults import FaultyEngine

    redis_server.flush()
    slow = FaultyEngine()  # node a's real model, made to hang on demand
    with ExitStack() as stack:
        a = stack.enter_context(live_server(
            engines=[slow], backend=redis_backend(redis_server.url), translation_wait_ms=50,
            translation_timeout_ms=60_000))
        b = a if nodes == 1 else stack.enter_context(live_server(
            backend=redis_backend(redis_server.url), translation_wait_ms=50))
        bob = a.viewer("late", "en", "Bob")
        ana = a.viewer("late", "pt", "Ana")
        slow.hang()
        bob.comment("Is it waterproof?")
        first = ana.expect_comment("Is it waterproof?")
        assert first["id"] == "1" and first["pending"] is True and slow.hung.wait(10)
        old = ana.welcome["epoch"]

        redis_server.flush()
        wait_until(lambda: a.gateway.bus.epoch != old and b.gateway.bus.epoch != old)
        # Node a's viewers hold ids of the lost epoch: they are sent to reconnect.
        for viewer in (bob, ana):
            with pytest.raises(Exception) as closed:
                viewer.expect(lambda f: False, timeout=10)
            assert getattr(closed.value, "rcvd", None) is not None
            assert closed.value.rcvd.code == 1012  # type: ignore[attr-defined]
        ze = b.viewer("late", "pt", "Zé")
        ze.comment("tem à prova d'água?")  # id 1 of the new epoch, already in Portuguese
        assert ze.expect_comment("tem à prova d'água?")["id"] == "1"

        slow.release()  # the translation of the old comment 1 lands now
        tracker = a.gateway.tracker
        wait_until(lambda: not tracker._inflight and not tracker._background)
        history = b.get("/v1/rooms/late/history?lang=pt").json()["messages"]
        assert [(m["id"], m["original"], m["text"]) for m in history] == [
            ("1", "tem à prova d'água?", "tem à prova d'água?")]
        # Nothing was stored for it either (no "pt" translation of a Portuguese comment).
        client = redis.Redis(port=redis_server.port)
        assert b"pt" not in client.hgetall("bc:r:late:tr:1")
        client.close()
        # Zé never saw a translation for his comment.
        ze.comment("ok")
        ze.expect_comment("ok")
        assert not [f for f in ze.frames if f["type"] == "translation"]
        back = a.viewer("late", "pt", "Ana", since="1", query=f"lang=pt&name=Ana&epoch={old}")
        assert back.welcome["gap"] is True
        assert [f["original"] for f in back.welcome["history"]] == ["tem à prova d'água?", "ok"]




def test_a_redis_back_from_an_older_snapshot_starts_a_new_epoch() -> None:
    # RDB snapshots (and AOF everysec) can bring Redis back without its last writes, epoch key
    # included: ids after the snapshot would be issued again under the old name. Redis'
    # run_id changes with every start, so the bus starts a new epoch instead.
    server = RedisServer().start()

    async def run() -> None:
        bus = RedisBus(server.url, epoch_check_s=0.05)
        await bus.start()
        try:
            sub = await bus.subscribe("r")
            first = await bus.publish_comment(draft("um"))
            redis.Redis(port=server.port).save()  # the snapshot: epoch and id 1
            await bus.publish_comment(draft("dois"))  # id 2: only after the snapshot
            old = bus.epoch
            server.halt()
            server.start()  # back from the snapshot: its last id is 1, under the old epoch
            deadline = time.monotonic() + 20
            while bus.epoch == old:
                assert time.monotonic() < deadline, "the bus never started a new epoch"
                await asyncio.sleep(0.05)
            events = []
            while not any(isinstance(e, EpochChanged) for e in events):
                events += await take(sub, 1)
            again = await bus.publish_comment(draft("três"))
            # Id 2 again, but under another name: never the old epoch's id 2.
            assert (again.epoch, again.id) != (old, 2) and again.epoch != first.epoch
        finally:
            await bus.close()

    try:
        asyncio.run(run())
    finally:
        server.stop()
