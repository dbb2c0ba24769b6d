"""The comment pipeline and translation tracking with a fake detector, a fake translator and
the memory bus: what is published, what is translated, and how often."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from babelcast.gateway.bus.memory import MemoryBus, MemoryPresence
from babelcast.gateway.chat.moderation import CommentRefused
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.events import CommentPublished, TranslationPublished
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.stores.memory import MemoryGlossaryStore, MemoryRoomSettingsStore
from babelcast.glossary import Glossary
from babelcast.langid import Detection
from babelcast.translation import Translation


class FakeDetector:
    """Says every comment is in ``lang``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def detect(self, text: str, declared: str | None = None,
               candidates: Any = None) -> Detection:
        return Detection(self.lang, 0.99, "model")


class FakeTranslator:
    """Translates by tagging the text; each call waits for ``release`` when it is cleared."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def translate_one(self, text: str, src: str, tgt: str,
                            glossary: Glossary | None = None, *,
                            normalise: bool = True) -> Translation:
        self.calls.append((text, src, tgt))
        await self.release.wait()
        return Translation(tgt, f"[{tgt}] {text}", True, engine="fake")

    def covers(self, src: str, tgt: str) -> bool:
        return True


class RecordingObserver:
    def __init__(self) -> None:
        self.detected: list[str] = []
        self.published: list[float] = []
        self.translations: list[str] = []

    def language_detected(self, reason: str) -> None:
        self.detected.append(reason)

    def comment_published(self, seconds: float) -> None:
        self.published.append(seconds)

    def translation_done(self, outcome: str, seconds: float) -> None:
        self.translations.append(outcome)


class Parts:
    def __init__(self, lang: str = "pt") -> None:
        self.bus = MemoryBus()
        self.presence = MemoryPresence()
        self.translator = FakeTranslator()
        self.observer = RecordingObserver()
        self.room_settings = MemoryRoomSettingsStore()
        glossaries = MemoryGlossaryStore()
        self.tracker = TranslationTracker(self.translator, self.bus, glossaries,
                                          self.room_settings, observer=self.observer)
        self.pipeline = CommentPipeline(FakeDetector(lang), self.translator, self.bus,
                                        self.presence, glossaries, self.room_settings,
                                        self.tracker,
                                        wait_s=0.25, observer=self.observer,
                                        moderation_wait_s=0.05)

    async def close(self) -> None:
        await self.pipeline.close()
        await self.tracker.close()


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def next_event(sub: Any, kind: type) -> Any:
    async def first() -> Any:
        async for event in sub:
            if isinstance(event, kind):
                return event
    return await asyncio.wait_for(first(), 5)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())


def test_a_comment_is_published_at_once_and_translated_into_each_other_language() -> None:
    async def go() -> None:
        parts = Parts("pt")
        for lang in ("pt", "en", "fr"):
            await parts.presence.add_viewer("r", lang)
        sub = await parts.bus.subscribe("r")
        parts.translator.release.clear()  # translations hang: publication must not wait
        msg = await parts.pipeline.submit("r", "ana", "u-1", "pt", "olá a todos")
        assert msg.src_lang == "pt" and sorted(msg.owed) == ["en", "fr"]
        assert (await next_event(sub, CommentPublished)).message.id == msg.id
        assert sorted(tgt for _, _, tgt in parts.translator.calls) == ["en", "fr"]
        parts.translator.release.set()
        got = {}
        for _ in range(2):
            event = await next_event(sub, TranslationPublished)
            got[event.translation.lang] = event.translation.text
        assert got == {"en": "[en] olá a todos", "fr": "[fr] olá a todos"}
        assert await parts.bus.translation("r", msg.id, "en", epoch=msg.epoch) is not None
        assert parts.observer.detected == ["model"] and len(parts.observer.published) == 1
        assert parts.observer.translations == ["translated", "translated"]
        await parts.close()

    run(go)


def test_the_tracker_translates_a_late_language_once_however_often_asked() -> None:
    async def go() -> None:
        parts = Parts("pt")
        msg = await parts.pipeline.submit("r", "ana", "u-1", "pt", "bom dia")
        assert msg.owed == ()  # nobody but the author's language was present
        parts.translator.release.clear()
        assert parts.tracker.request(msg, "pt") is False  # its own language: nothing owed
        assert parts.tracker.request(msg, "de") is True
        assert parts.tracker.request(msg, "de") is True
        waiting = parts.tracker.wait_for(msg, "de")
        assert waiting is not None
        await until(lambda: any(c[2] == "de" for c in parts.translator.calls))
        parts.translator.release.set()
        assert (await waiting).text == "[de] bom dia"
        # (The other call, if any, is moderation's into English, made at submit.)
        assert [c for c in parts.translator.calls if c[2] == "de"] == [("bom dia", "pt", "de")]
        await until(lambda: parts.tracker.wait_for(msg, "de") is None)
        await parts.close()

    run(go)


def test_an_owed_translation_is_awaited_from_the_bus_not_made_again() -> None:
    async def go() -> None:
        parts = Parts("pt")
        await parts.presence.add_viewer("r", "en")
        parts.translator.release.clear()
        msg = await parts.pipeline.submit("r", "ana", "u-1", "pt", "obrigado")
        assert msg.owed == ("en",)
        # Another reader asks while the publisher's translation is in flight: same task.
        assert parts.tracker.request(msg, "en") is True
        parts.translator.release.set()
        await until(lambda: parts.tracker.wait_for(msg, "en") is None)
        assert parts.translator.calls == [("obrigado", "pt", "en")]
        await parts.close()

    run(go)


def test_a_blocked_comment_is_refused_and_never_published() -> None:
    async def go() -> None:
        parts = Parts("en")
        await parts.room_settings.put("r", RoomSettings(blocklist=("forbidden",),
                                                        use_default_blocklist=False))
        with pytest.raises(CommentRefused):
            await parts.pipeline.submit("r", "bob", "u-2", "en", "a forbidden word")
        messages, _ = await parts.bus.history("r")
        assert messages == [] and parts.pipeline.moderation.blocked == 1
        assert parts.observer.published == []
        await parts.close()

    run(go)
