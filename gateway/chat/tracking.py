"""Translation tracking: each (room, message, target language) translation this node needs is
on its way at most once, and is published on the bus when it lands.

The pipeline hands over the translations it starts for a new comment (``follow``); rooms,
sessions and the history endpoint ask for the ones their readers need later (``request``), and
the history endpoint waits for one in flight (``wait_for``). A translation another node owes
(``ChatMessage.owed``: its publisher is making it) is awaited from the bus; if it has not come
``owed_wait_s`` after publication, that node is taken for dead and it is made here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Protocol

from babelcast.gateway.bus.base import Bus
from babelcast.gateway.chat.observer import PipelineObserver
from babelcast.gateway.chat.retries import TranslationRetries
from babelcast.gateway.events import ChatMessage
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.wire.server import needs_translation
from babelcast.glossary import Glossary
from babelcast.translation import Translation, Translator

log = logging.getLogger("babelcast.tracking")

_Key = tuple[str, str, int, str]  # (room, epoch, message id, target language)


class GlossaryLookup(Protocol):
    async def get(self, name: str) -> Glossary | None: ...


class RoomSettingsLookup(Protocol):
    async def get(self, room: str) -> RoomSettings: ...


async def timed_translate(translator: Translator, observer: PipelineObserver | None,
                          text: str, src: str, tgt: str, glossary: Glossary | None,
                          normalise: bool = True) -> Translation:
    """``translator.translate_one``, timed for the observer (if any); ``normalise`` False
    skips the chat stage (a room turned it off)."""
    if observer is None:
        return await translator.translate_one(text, src, tgt, glossary, normalise=normalise)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await translator.translate_one(text, src, tgt, glossary, normalise=normalise)
    outcome = "translated" if result.translated else (result.reason or "untranslated")
    observer.translation_done(outcome, loop.time() - started)
    return result


class TranslationTracker:
    """The translations this node is making or waiting for, one per (room, id, language)."""

    def __init__(self, translator: Translator, bus: Bus, glossaries: GlossaryLookup,
                 room_settings: RoomSettingsLookup, *, owed_wait_s: float = 7.0,
                 observer: PipelineObserver | None = None) -> None:
        self.translator = translator
        self.bus = bus
        self.glossaries = glossaries
        self.room_settings = room_settings
        self.observer = observer
        # How long after publication another node's owed translation is awaited before this
        # node makes it itself (that node may have died): its translation timeout and then some.
        self.owed_wait_s = owed_wait_s
        self._owed: set[_Key] = set()  # in _inflight, but only waiting for another node
        self._inflight: dict[_Key, asyncio.Task[Translation]] = {}
        self._background: set[asyncio.Task[object]] = set()
        # Failed translations, tried again while the comment is in history (chat.retries).
        self.retries = TranslationRetries(self._translate_late, bus.publish_translation,
                                          bus.translation)

    def request(self, msg: ChatMessage, lang: str) -> bool:
        """Make sure a translation of ``msg`` into ``lang`` is on its way (once per pair).
        Returns True when one is, or already was, in flight; False when readers of ``lang``
        need none (same language, no language, or already translated): callers use the
        result as the ``pending`` flag."""
        key = (msg.room, msg.epoch, msg.id, lang)
        if key in self._inflight:
            return True
        if not needs_translation(msg, lang):
            return False
        if lang in msg.owed:
            # The publishing node is making it (maybe this node, before its own follow-up is
            # registered): wait for its translation event, unless it never comes.
            self._owed.add(key)
            task = asyncio.create_task(self._translate_if_owed_lost(msg, lang))
            task.add_done_callback(lambda _t: self._owed.discard(key))
        else:
            task = asyncio.create_task(self._translate_late(msg, lang))
        self.follow(msg, lang, task)
        return True

    async def _translate_late(self, msg: ChatMessage, lang: str) -> Translation:
        settings = await self.room_settings.get(msg.room)
        glossary = await self.glossaries.get(settings.glossary) if settings.glossary else None
        return await timed_translate(self.translator, self.observer, msg.text, msg.src_lang,
                                     lang, glossary, settings.normalise_chat)

    async def _translate_if_owed_lost(self, msg: ChatMessage, lang: str) -> Translation:
        """The owed translation once published; made here if it has not been by
        ``owed_wait_s`` after publication (its node died)."""
        await asyncio.sleep(max(0.0, msg.ts + self.owed_wait_s - time.time()))
        found = await self.bus.translation(msg.room, msg.id, lang, epoch=msg.epoch)
        if found is not None:
            return found  # publishing it again is a no-op
        log.warning("translation of %s/%s into %s never came from its node; making it here",
                    msg.room, msg.id, lang)
        return await self._translate_late(msg, lang)

    def wait_for(self, msg: ChatMessage, lang: str) -> Awaitable[Translation] | None:
        """The in-flight translation of ``msg`` into ``lang``, if this node is making it."""
        key = (msg.room, msg.epoch, msg.id, lang)
        task = self._inflight.get(key)
        return asyncio.shield(task) if task is not None and key not in self._owed else None

    def follow(self, msg: ChatMessage, lang: str, task: asyncio.Task[Translation]) -> None:
        """Track ``task`` as the translation of ``msg`` into ``lang``, and publish its result
        on the bus when it lands."""
        key = (msg.room, msg.epoch, msg.id, lang)
        self._inflight[key] = task

        def done(t: asyncio.Task[Translation]) -> None:
            if self._inflight.get(key) is t:
                del self._inflight[key]
            if t.cancelled():
                return
            result = t.result()
            self._spawn(self.bus.publish_translation(msg.room, msg.id, result, epoch=msg.epoch))
            self.retries.failed(msg, result)

        task.add_done_callback(done)

    def _spawn(self, coro: Awaitable[object]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Cancel translations still in flight and the retries (shutdown)."""
        await self.retries.close()
        for task in self._inflight.values():
            task.cancel()
        await asyncio.gather(*self._inflight.values(), *self._background,
                             return_exceptions=True)
