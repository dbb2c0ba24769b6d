"""Translations that failed for a passing reason (the engine raised or hung, the translator was
down, the queue shed them) are tried again while their comment is still in history, so the
viewers who got the original marked untranslated get the translation once the translator is
back.

Bounded every way: at most ``max_entries`` (comment, language) pairs are kept (the oldest is
given up when a new one comes), each is tried after ``first_delay_s``, then at doubling
intervals up to ``max_delay_s``, and given up ``give_up_after_s`` after its first failure.
A retry that succeeds is published like any translation: it replaces the untranslated one in
history (``Bus.publish_translation``) and readers of that language get a ``translation``
frame. The node that made the failed translation retries it; if that node stops, nobody does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from babelcast.gateway.events import ChatMessage
from babelcast.translation import (
    ENGINE_ERROR,
    NO_TRANSLATOR,
    OVERLOADED,
    TIMEOUT,
    Translation,
)

log = logging.getLogger("babelcast.retries")

# Reasons that may pass: a missing route or an undetermined language will not.
RETRYABLE = frozenset({ENGINE_ERROR, TIMEOUT, OVERLOADED, NO_TRANSLATOR})

Translate = Callable[[ChatMessage, str], Awaitable[Translation]]


class Publish(Protocol):
    """``Bus.publish_translation``."""

    def __call__(self, room: str, message_id: int, translation: Translation, *,
                 epoch: str) -> Awaitable[bool]: ...


class Lookup(Protocol):
    """``Bus.translation``."""

    def __call__(self, room: str, message_id: int, lang: str, *,
                 epoch: str) -> Awaitable[Translation | None]: ...


@dataclass
class _Entry:
    msg: ChatMessage
    lang: str
    failed_at: float  # loop time of the first failure
    delay_s: float
    due: float


@dataclass
class RetryStats:
    queued: int = 0  # failed translations taken for a retry
    recovered: int = 0  # retries that translated (published)
    given_up: int = 0  # out of time, out of room, or failed for good


class TranslationRetries:
    """Failed (comment, language) pairs, retried with backoff for a bounded time."""

    def __init__(self, translate: Translate, publish: Publish, lookup: Lookup, *,
                 give_up_after_s: float = 600.0, first_delay_s: float = 1.0,
                 max_delay_s: float = 60.0, max_entries: int = 1000) -> None:
        """``translate`` makes a translation of a message again; ``publish`` attaches it
        (``Bus.publish_translation``); ``lookup`` reads what history holds
        (``Bus.translation``: None once the message has left history)."""
        self._translate = translate
        self._publish = publish
        self._lookup = lookup
        self.give_up_after_s = give_up_after_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.max_entries = max_entries
        self.stats = RetryStats()
        self._entries: dict[tuple[str, int, str], _Entry] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def failed(self, msg: ChatMessage, result: Translation) -> None:
        """``result`` of translating ``msg`` into ``result.lang`` failed: retry it later if
        its reason may pass."""
        if result.translated or result.reason not in RETRYABLE or msg.id <= 0:
            return
        key = (msg.room, msg.id, result.lang)
        if key in self._entries or self.give_up_after_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            oldest = next(iter(self._entries))
            del self._entries[oldest]
            self.stats.given_up += 1
        now = asyncio.get_running_loop().time()
        self._entries[key] = _Entry(msg, result.lang, now, self.first_delay_s,
                                    now + self.first_delay_s)
        self.stats.queued += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="translation-retries")
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._entries:
            now = loop.time()
            due = [k for k, e in self._entries.items() if e.due <= now]
            if not due:
                self._wake.clear()
                wait = min(e.due for e in self._entries.values()) - now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                continue
            entries = [self._entries.pop(k) for k in due]
            await asyncio.gather(*(self._attempt(e) for e in entries))

    async def _attempt(self, entry: _Entry) -> None:
        msg, lang = entry.msg, entry.lang
        try:
            held = await self._lookup(msg.room, msg.id, lang, epoch=msg.epoch)
            if held is None or held.translated:
                return  # left history (or deleted), or translated meanwhile
            result = await self._translate(msg, lang)
            if result.translated:
                await self._publish(msg.room, msg.id, result, epoch=msg.epoch)
                self.stats.recovered += 1
                return
            reason = result.reason
        except Exception as exc:  # the bus failing: the next round may find it back
            log.debug("retry of %s/%s into %s failed: %r", msg.room, msg.id, lang, exc)
            reason = ENGINE_ERROR
        loop = asyncio.get_running_loop()
        now = loop.time()
        if reason not in RETRYABLE or now - entry.failed_at >= self.give_up_after_s:
            self.stats.given_up += 1
            log.info("gave up translating %s/%s into %s (%s)", msg.room, msg.id, lang, reason)
            return
        entry.delay_s = min(entry.delay_s * 2, self.max_delay_s)
        entry.due = now + entry.delay_s
        self._entries.setdefault((msg.room, msg.id, lang), entry)

    async def close(self) -> None:
        """Stop retrying (shutdown)."""
        self._entries.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
