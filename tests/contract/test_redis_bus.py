"""What only the Redis backend does (the seams' contract is tests/contract/test_bus.py):
several nodes share a room — one event order for every node, translate-once across nodes,
pins and mutes seen by all — presence summed across nodes with a dead node's expiring, and a
clear error when Redis cannot be reached."""

from __future__ import annotations

import asyncio
import time

import pytest

from babelcast.gateway.bus.base import BusUnavailable, CommentDraft, UnknownMessage
from babelcast.gateway.bus.redis import RedisBus, RedisPresence, redis_backend
from babelcast.gateway.events import (
    CommentPublished,
    MessageDeleted,
    PinChanged,
    TranslationPublished,
)
from babelcast.translation import Translation
from tests.harness import free_port


def draft(text: str, room: str = "r", **tr: Translation) -> CommentDraft:
    return CommentDraft(room=room, user="Ana", user_id="u-1", text=text, src_lang="pt",
                        translations=dict(tr))


def test_delete_pin_and_mute_are_shared_and_delivered(redis_url: str) -> None:
    async def run() -> None:
        a, b = redis_backend(redis_url, history_size=3), redis_backend(redis_url, history_size=3)
        await a.start()
        await b.start()
        try:
            sub = await b.bus.subscribe("r")
            for text in ("m1", "m2", "m3"):
                await a.bus.publish_comment(draft(text, pt=Translation("pt", text, False)))
            pinned = await a.state.set_pinned("r", 2)
            assert pinned is not None and pinned.text == "m2" and "pt" in pinned.translations
            assert (await b.state.pinned("r")).id == 2  # type: ignore[union-attr]
            assert await a.bus.delete_message("r", 2) is True
            assert await b.bus.delete_message("r", 2) is False
            msgs, gap = await b.bus.history("r", since=0)
            assert [m.id for m in msgs] == [1, 3] and gap is False
            assert await b.state.pinned("r") is None
            with pytest.raises(UnknownMessage):
                await b.state.set_pinned("r", 2)
            events = [await asyncio.wait_for(sub.queue.get(), 10) for _ in range(6)]
            assert [type(e) for e in events[3:]] == [PinChanged, MessageDeleted, PinChanged]
            assert events[4] == MessageDeleted("r", 2) and events[5] == PinChanged("r", None)
            await a.state.mute("r", "u-9")
            assert await b.state.is_muted("r", "u-9") and not await b.state.is_muted("r", "u-1")
            await b.state.unmute("r", "u-9")
            assert not await a.state.is_muted("r", "u-9")
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_every_node_reads_one_order_and_translations_publish_once(redis_url: str) -> None:
    async def run() -> None:
        a, b = RedisBus(redis_url), RedisBus(redis_url)
        await a.start()
        await b.start()
        try:
            assert a.epoch == b.epoch != ""
            sub_a, sub_b = await a.subscribe("room"), await b.subscribe("room")
            ready = Translation("en", "free shipping?", True)
            m1 = await a.publish_comment(draft("frete grátis?", "room", en=ready))
            m2 = await b.publish_comment(draft("tem azul?", "room"))
            t = Translation("en", "is there blue?", True)
            assert await a.publish_translation("room", m2.id, t, epoch=m2.epoch) is True
            assert await b.publish_translation("room", m2.id, t, epoch=m2.epoch) is False
            assert await b.publish_translation("room", 999, t, epoch=m2.epoch) is False

            async def take(sub: object, n: int) -> list[object]:
                return [await asyncio.wait_for(sub.queue.get(), 10) for _ in range(n)]

            events_a, events_b = await take(sub_a, 3), await take(sub_b, 3)
            for events in (events_a, events_b):
                assert [type(e) for e in events] == [CommentPublished, CommentPublished,
                                                     TranslationPublished]
                assert events[0].message.id == m1.id
                assert events[0].message.translations["en"].text == "free shipping?"
                assert events[1].message.text == "tem azul?"
                assert events[2].translation == t
            msgs, _ = await b.history("room")
            assert msgs[1].translations == {"en": t}
            sub_a.close()
            sub_b.close()
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_presence_is_summed_across_nodes_and_a_dead_node_expires(redis_url: str) -> None:
    async def run() -> None:
        a = redis_backend(redis_url, presence_ttl_s=0.6, viewers_cache_s=0)
        b = redis_backend(redis_url, presence_ttl_s=0.6, viewers_cache_s=0)
        await a.start()
        await b.start()
        try:
            pa, pb = a.presence, b.presence
            assert isinstance(pb, RedisPresence)
            await pa.add_viewer("r", "pt")
            await pa.add_viewer("r", "pt")
            await pb.add_viewer("r", "en")
            await pb.add_viewer("r", "pt")
            assert await pa.viewers("r") == {"pt": 3, "en": 1}
            await pb.remove_viewer("r", "pt")
            assert await pa.viewers("r") == {"pt": 2, "en": 1}
            # b "crashes": its heartbeat stops and it never withdraws its presence.
            assert pb._heartbeat is not None
            pb._heartbeat.cancel()
            deadline = time.monotonic() + 10
            while await pa.viewers("r") != {"pt": 2}:
                assert time.monotonic() < deadline, await pa.viewers("r")
                await asyncio.sleep(0.05)
            # a keeps refreshing, so its own viewers outlive several TTLs.
            await asyncio.sleep(1.5)
            assert await pa.viewers("r") == {"pt": 2}
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_unreachable_redis_is_a_clear_start_up_error() -> None:
    async def run() -> None:
        rooms = redis_backend(f"redis://127.0.0.1:{free_port()}/0")
        with pytest.raises(BusUnavailable, match=r"cannot reach Redis at redis://127\.0\.0\.1"):
            await rooms.start()
        await rooms.close()

    asyncio.run(run())
