"""MemoryBus: ids, history windows and gaps, presence counts."""

from __future__ import annotations

import asyncio

from gateway.bus import CommentDraft, MemoryBus
from gateway.events import CommentPublished, TranslationPublished
from translation import Translation


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
