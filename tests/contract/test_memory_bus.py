"""MemoryBus: ids, history windows and gaps, presence counts."""

from __future__ import annotations

import asyncio

import pytest

from babelcast.gateway.bus.base import CommentDraft, UnknownMessage
from babelcast.gateway.bus.memory import MemoryBus
from babelcast.gateway.events import (
    CommentPublished,
    MessageDeleted,
    PinChanged,
    TranslationPublished,
)
from babelcast.translation import Translation


def draft(text: str) -> CommentDraft:
    return CommentDraft(room="r", user="u", user_id="u-1", text=text, src_lang="en",
                        translations={})


def test_history_since_and_gap_detection() -> None:
    async def run() -> None:
        bus = MemoryBus(history_size=3)
        for i in range(5):
            await bus.publish_comment(draft(f"m{i}"))
        msgs, gap = await bus.history("r", since=3)
        assert [m.id for m in msgs] == [4, 5] and gap is False
        msgs, gap = await bus.history("r", since=1)  # 2 fell out of history
        assert [m.id for m in msgs] == [3, 4, 5] and gap is True
        msgs, gap = await bus.history("r", since=2)  # exactly at the edge: nothing lost
        assert [m.id for m in msgs] == [3, 4, 5] and gap is False
        msgs, gap = await bus.history("r", since=9)  # ids restarted: resend all, flag it
        assert [m.id for m in msgs] == [3, 4, 5] and gap is True
        msgs, _ = await bus.history("r", limit=2)
        assert [m.id for m in msgs] == [4, 5]

    asyncio.run(run())


def test_events_reach_subscribers_in_order_and_translations_once() -> None:
    async def run() -> None:
        bus = MemoryBus()
        sub = await bus.subscribe("r")
        msg = await bus.publish_comment(draft("hello"))
        t = Translation("pt", "olá", True)
        assert await bus.publish_translation("r", msg.id, t) is True
        assert await bus.publish_translation("r", msg.id, t) is False  # already there
        assert await bus.publish_translation("r", 99, t) is False  # unknown message
        events = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
        assert [type(e) for e in events] == [CommentPublished, TranslationPublished]
        sub.close()
        await bus.publish_comment(draft("after"))
        assert sub.queue.empty()

    asyncio.run(run())


def test_presence_counts() -> None:
    async def run() -> None:
        bus = MemoryBus()
        await bus.add_viewer("r", "en")
        await bus.add_viewer("r", "en")
        await bus.add_viewer("r", "pt")
        await bus.remove_viewer("r", "en")
        await bus.remove_viewer("r", "pt")
        assert await bus.viewers("r") == {"en": 1}
        assert await bus.viewers("nowhere") == {}

    asyncio.run(run())


def test_delete_pin_and_mute() -> None:
    async def run() -> None:
        bus = MemoryBus(history_size=3)
        sub = await bus.subscribe("r")
        for text in ("a", "b", "c"):
            await bus.publish_comment(draft(text))
        assert await bus.set_pinned("r", 2) is not None
        assert await bus.delete_message("r", 2) is True
        assert await bus.delete_message("r", 2) is False
        msgs, gap = await bus.history("r", since=0)
        assert [m.id for m in msgs] == [1, 3] and gap is False  # deleted is not a gap
        assert await bus.pinned("r") is None
        with pytest.raises(UnknownMessage):
            await bus.set_pinned("r", 2)
        events = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
        assert [type(e) for e in events[3:]] == [PinChanged, MessageDeleted, PinChanged]
        assert events[5] == PinChanged("r", None)
        await bus.mute("r", "u-1")
        assert await bus.is_muted("r", "u-1") and not await bus.is_muted("r", "u-2")
        assert not await bus.is_muted("other", "u-1")
        await bus.unmute("r", "u-1")
        await bus.unmute("other", "u-1")  # never muted, unknown room: nothing happens
        assert not await bus.is_muted("r", "u-1")

    asyncio.run(run())
