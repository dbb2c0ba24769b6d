"""The bus package's seams — ``Bus`` (ids, history windows and gaps, events, translate-once,
deletes), ``Presence`` (counts) and ``RoomState`` (pins, mutes) — one suite run against the
memory backend and the Redis backend (a real redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from babelcast.gateway.bus.backend import RoomBackend
from babelcast.gateway.bus.base import CommentDraft, Subscription, UnknownMessage
from babelcast.gateway.bus.memory import memory_backend
from babelcast.gateway.bus.redis import redis_backend
from babelcast.gateway.bus.state import Vote, VoteOutcome
from babelcast.gateway.events import (
    CommentPublished,
    MessageDeleted,
    PinChanged,
    ReactionsCounted,
    RoomEvent,
    TranslationPublished,
)
from babelcast.translation import Translation

Open = Callable[..., Any]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Open:
    """Opens a started backend of each kind (Redis: the suite's own, emptied)."""
    if request.param == "memory":
        make: Callable[..., RoomBackend] = memory_backend
    else:
        url = request.getfixturevalue("redis_url")

        def make(**kw: Any) -> RoomBackend:
            return redis_backend(url, **kw)

    @asynccontextmanager
    async def opened(**kw: Any) -> AsyncIterator[RoomBackend]:
        rooms = make(**kw)
        await rooms.start()
        try:
            yield rooms
        finally:
            await rooms.close()

    return opened


def draft(text: str, room: str = "r", **tr: Translation) -> CommentDraft:
    return CommentDraft(room=room, user="Ana", user_id="u-1", text=text, src_lang="pt",
                        translations=dict(tr))


async def take(sub: Subscription, n: int) -> list[RoomEvent]:
    return [await asyncio.wait_for(sub.queue.get(), 10) for _ in range(n)]


def test_ids_history_windows_and_gaps(backend: Open) -> None:
    async def run() -> None:
        async with backend(history_size=3) as rooms:
            bus = rooms.bus
            assert bus.epoch != ""
            ids = [(await bus.publish_comment(draft(f"m{i}"))).id for i in range(5)]
            assert ids == [1, 2, 3, 4, 5]
            msgs, gap = await bus.history("r", since=3)
            assert [m.id for m in msgs] == [4, 5] and gap is False
            msgs, gap = await bus.history("r", since=1)  # 2 fell out of history
            assert [m.text for m in msgs] == ["m2", "m3", "m4"] and gap is True
            msgs, gap = await bus.history("r", since=2)  # exactly at the edge: nothing lost
            assert [m.id for m in msgs] == [3, 4, 5] and gap is False
            msgs, gap = await bus.history("r", since=9)  # ids restarted: resend all, flag it
            assert [m.id for m in msgs] == [3, 4, 5] and gap is True
            msgs, _ = await bus.history("r", limit=2)
            assert [m.id for m in msgs] == [4, 5]
            assert msgs[0].user == "Ana" and msgs[0].src_lang == "pt"
            assert await bus.history("nowhere") == ([], False)
            stats = await bus.stats("r")
            assert stats is not None and (stats.messages, stats.last_id) == (3, 5)
            assert await bus.stats("never-used") is None

    asyncio.run(run())


def test_events_reach_subscribers_in_order_and_translations_publish_once(
        backend: Open) -> None:
    async def run() -> None:
        async with backend() as rooms:
            bus = rooms.bus
            sub = await bus.subscribe("r")
            ready = Translation("en", "free shipping?", True)
            m1 = await bus.publish_comment(draft("frete grátis?", en=ready))
            m2 = await bus.publish_comment(draft("tem azul?"))
            t = Translation("en", "is there blue?", True)
            assert m1.epoch == m2.epoch == bus.epoch
            assert await bus.publish_translation("r", m2.id, t, epoch=m2.epoch) is True
            # Already there; an unknown message; a message of another epoch.
            assert await bus.publish_translation("r", m2.id, t, epoch=m2.epoch) is False
            assert await bus.publish_translation("r", 99, t, epoch=m2.epoch) is False
            es = Translation("es", "¿hay azul?", True)
            assert await bus.publish_translation("r", m2.id, es, epoch="other") is False
            assert await bus.translation("r", m2.id, "en", epoch=m2.epoch) == t
            assert await bus.translation("r", m2.id, "en", epoch="other") is None
            assert await bus.translation("r", m2.id, "es", epoch=m2.epoch) is None
            events = await take(sub, 3)
            assert [type(e) for e in events] == [CommentPublished, CommentPublished,
                                                 TranslationPublished]
            assert events[0].message.id == m1.id  # type: ignore[union-attr]
            assert events[0].message.translations["en"].text == "free shipping?"  # type: ignore[union-attr]
            assert events[1].message.text == "tem azul?"  # type: ignore[union-attr]
            assert events[2] == TranslationPublished("r", m2.id, t, bus.epoch)
            assert events[0].message.epoch == bus.epoch  # type: ignore[union-attr]
            msgs, _ = await bus.history("r")
            assert msgs[1].translations == {"en": t} and msgs[1].epoch == bus.epoch
            # Nothing else was delivered: the next event is the next comment.
            m3 = await bus.publish_comment(draft("e rosa?"))
            assert (await take(sub, 1))[0].message.id == m3.id  # type: ignore[union-attr]
            sub.close()
            await bus.publish_comment(draft("after"))
            assert sub.queue.empty()

    asyncio.run(run())


def test_delete_unpins_and_is_not_a_gap(backend: Open) -> None:
    async def run() -> None:
        async with backend(history_size=3) as rooms:
            bus, state = rooms.bus, rooms.state
            sub = await bus.subscribe("r")
            for text in ("m1", "m2", "m3"):
                await bus.publish_comment(draft(text, pt=Translation("pt", text, False)))
            pinned = await state.set_pinned("r", 2)
            assert pinned is not None and pinned.text == "m2" and "pt" in pinned.translations
            assert (await state.pinned("r")).id == 2  # type: ignore[union-attr]
            assert await bus.delete_message("r", 2, epoch="other") is False  # not this epoch's
            assert await bus.delete_message("r", 2, epoch=bus.epoch) is True
            assert await bus.delete_message("r", 2) is False
            msgs, gap = await bus.history("r", since=0)
            assert [m.id for m in msgs] == [1, 3] and gap is False  # deleted is not a gap
            assert await state.pinned("r") is None
            with pytest.raises(UnknownMessage):
                await state.set_pinned("r", 2)
            events = await take(sub, 6)
            assert [type(e) for e in events[3:]] == [PinChanged, MessageDeleted, PinChanged]
            assert events[4] == MessageDeleted("r", 2) and events[5] == PinChanged("r", None)
            assert await state.set_pinned("r", 3) is not None
            assert await state.set_pinned("r", None) is None  # unpin
            assert await state.pinned("r") is None
            events = await take(sub, 2)
            assert events[0].message.id == 3 and events[1] == PinChanged("r", None)  # type: ignore[union-attr]

    asyncio.run(run())


def test_mutes(backend: Open) -> None:
    async def run() -> None:
        async with backend() as rooms:
            state = rooms.state
            await state.mute("r", "u-1")
            assert await state.is_muted("r", "u-1") and not await state.is_muted("r", "u-2")
            assert not await state.is_muted("other", "u-1")
            await state.unmute("r", "u-1")
            await state.unmute("other", "u-1")  # never muted, unknown room: nothing happens
            assert not await state.is_muted("r", "u-1")

    asyncio.run(run())


def test_presence_counts(backend: Open) -> None:
    async def run() -> None:
        async with backend() as rooms:
            presence = rooms.presence
            await presence.add_viewer("r", "en")
            await presence.add_viewer("r", "en")
            await presence.add_viewer("r", "pt")
            assert await presence.viewers("r") == {"en": 2, "pt": 1}
            await presence.remove_viewer("r", "en")
            await presence.remove_viewer("r", "pt")
            assert await presence.viewers("r") == {"en": 1}
            await presence.remove_viewer("nowhere", "en")  # nobody there: nothing happens
            assert await presence.viewers("nowhere") == {}

    asyncio.run(run())


def test_a_translation_replaces_only_a_failed_one(backend: Open) -> None:
    async def run() -> None:
        async with backend() as rooms:
            bus = rooms.bus
            msg = await bus.publish_comment(CommentDraft(
                room="r", user="u", user_id="u-1", text="Is it red?", src_lang="en",
                translations={}))

            async def publish(t: Translation) -> bool:
                return await bus.publish_translation("r", msg.id, t, epoch=msg.epoch)

            failed = Translation("pt", "Is it red?", False, "engine_error")
            assert await publish(failed) is True
            assert await publish(failed) is False
            done = Translation("pt", "É vermelho?", True)
            assert await publish(done) is True  # the retry of a failed translation
            assert await bus.translation("r", msg.id, "pt", epoch=msg.epoch) == done
            assert await publish(failed) is False
            assert await publish(Translation("pt", "Ele é vermelho?", True)) is False
            assert await bus.translation("r", msg.id, "pt", epoch=msg.epoch) == done
            [stored] = (await bus.history("r"))[0]
            assert stored.translations["pt"] == done

    asyncio.run(run())


def test_reaction_counts_reach_subscribers_and_messages_are_known(backend: Open) -> None:
    async def run() -> None:
        async with backend() as rooms:
            bus = rooms.bus
            sub = await bus.subscribe("react")
            msg = await bus.publish_comment(draft("oi", room="react"))
            partial = ReactionsCounted("react", {"heart": 40, "clap": 2}, {msg.id: {"fire": 3}})
            await bus.publish_reactions(partial)
            events = await take(sub, 2)
            assert isinstance(events[0], CommentPublished) and events[1] == partial
            assert await bus.has_message("react", msg.id)
            assert not await bus.has_message("react", msg.id + 1)
            assert not await bus.has_message("nowhere", 1)
            # Reactions are not history.
            history, _ = await bus.history("react")
            assert [m.id for m in history] == [msg.id]
            assert await bus.delete_message("react", msg.id)
            assert not await bus.has_message("react", msg.id)
            sub.close()

    asyncio.run(run())


def test_question_votes_count_once_per_voter_and_travel_with_reactions(backend: Open) -> None:
    async def run() -> None:
        async with backend() as rooms:
            bus, state = rooms.bus, rooms.state
            question = await bus.publish_comment(replace(draft("tem frete?", room="v"),
                                                          question=True))
            remark = await bus.publish_comment(draft("oi", room="v"))
            assert await state.add_vote("v", question.id, "en-1") == Vote(VoteOutcome.COUNTED, 1)
            assert await state.add_vote("v", question.id, "ko-1") == Vote(VoteOutcome.COUNTED, 2)
            assert await state.add_vote("v", question.id, "en-1") == Vote(
                VoteOutcome.ALREADY_VOTED, 2)
            assert (await state.add_vote("v", remark.id, "en-1")).outcome is (
                VoteOutcome.NOT_A_QUESTION)
            assert (await state.add_vote("v", remark.id + 9, "en-1")).outcome is (
                VoteOutcome.NOT_FOUND)
            assert (await state.add_vote("elsewhere", question.id, "en-1")).outcome is (
                VoteOutcome.NOT_FOUND)
            assert await state.votes("v", [question.id, remark.id]) == {question.id: 2,
                                                                        remark.id: 0}
            assert await state.votes("v", []) == {}
            # The counts reach every subscriber with the reactions of the interval.
            sub = await bus.subscribe("v")
            partial = ReactionsCounted("v", {}, {}, {question.id: 2})
            await bus.publish_reactions(partial)
            assert await take(sub, 1) == [partial]
            sub.close()
            # A deleted question takes no more votes.
            assert await bus.delete_message("v", question.id)
            assert (await state.add_vote("v", question.id, "pt-1")).outcome is (
                VoteOutcome.NOT_FOUND)

    asyncio.run(run())
