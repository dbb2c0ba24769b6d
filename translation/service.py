"""``TranslationService``: the async front of translation (route, cache, coalesce, batch,
deadline).

Engines are synchronous; the service hands each request to a ``TranslationBatcher`` that
batches requests from every room per engine and language pair and runs the batches on its own
worker threads, so the event loop never waits on a model. Identical requests in flight share
one translation, finished results are cached, and every request has a deadline: a slow,
overloaded or failing engine yields the original text marked untranslated, never an exception
for the caller.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from babelcast.glossary import Glossary
from babelcast.translation.batcher import DeadlineExceeded, HopJob, Overloaded, TranslationBatcher
from babelcast.translation.cache import CacheKey, TranslationCache
from babelcast.translation.chat import ChatStage
from babelcast.translation.engine import (
    ENGINE_ERROR,
    NO_ROUTE,
    OVERLOADED,
    TIMEOUT,
    Engine,
    EngineError,
    Translation,
)
from babelcast.translation.router import Route, Router

log = logging.getLogger("babelcast.translation")


@dataclass
class ServiceStats:
    requests: int = 0      # translate_one calls
    engine_calls: int = 0  # requests that needed the engines (not cached, not coalesced)
    coalesced: int = 0     # requests that joined an identical one in flight
    errors: int = 0        # requests the engine failed on
    timeouts: int = 0      # callers whose deadline passed first
    shed: int = 0          # callers answered "overloaded" (queue full)


async def translate_all(translate_one: Callable[..., Awaitable[Translation]], text: str,
                        src: str, targets: Iterable[str],
                        glossary: Glossary | None = None) -> dict[str, Translation]:
    """``translate_one`` into every distinct target but ``src``, concurrently: the
    ``translate`` of every translator (local service or remote)."""
    langs = [t for t in dict.fromkeys(targets) if t != src]
    results = await asyncio.gather(*(translate_one(text, src, t, glossary) for t in langs))
    return dict(zip(langs, results, strict=True))


class TranslationService:
    """Translates chat text through the engines it is given. Use from one event loop.

    ``threads`` worker threads run batches; ``max_batch_tokens`` and ``max_wait_ms`` shape
    the batches; ``max_queue`` bounds the requests waiting for a batch; translations into
    ``priority_langs`` (the host's language) are scheduled first and shed last.

    ``chat_stage`` (default on) runs the chat-aware stage around protection and the engine
    (``translation.chat``): normalisation before, the writer's style given back after;
    ``chat`` is the stage to use (default: the built-in rules)."""

    def __init__(self, engines: Sequence[Engine], *, threads: int = 2,
                 timeout_s: float = 5.0, cache_entries: int = 10_000,
                 max_batch_tokens: int = 1024, max_wait_ms: float = 5.0,
                 max_queue: int = 2048, priority_langs: Iterable[str] = (),
                 chat_stage: bool = True, chat: ChatStage | None = None) -> None:
        self.chat = (chat or ChatStage()) if chat_stage else None
        self.router = Router(engines)
        self.timeout_s = timeout_s
        self.cache = TranslationCache(cache_entries)
        self.stats = ServiceStats()
        self.priority_langs = frozenset(priority_langs)
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="babelcast-translate")
        self.batcher = TranslationBatcher(self._executor, workers=threads,
                                          max_batch_tokens=max_batch_tokens,
                                          max_wait_ms=max_wait_ms, max_queue=max_queue)
        self._inflight: dict[CacheKey, asyncio.Future[str]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def engines(self) -> list[Engine]:
        return self.router.engines

    def covers(self, src: str, tgt: str) -> bool:
        """Whether some route exists for the pair."""
        return self.router.route(src, tgt) is not None

    async def translate(self, text: str, src: str, targets: Iterable[str],
                        glossary: Glossary | None = None, *,
                        normalise: bool = True) -> dict[str, Translation]:
        """Translate ``text`` into every target (the source language itself is skipped)."""
        return await translate_all(functools.partial(self.translate_one, normalise=normalise),
                                   text, src, targets, glossary)

    async def translate_one(self, text: str, src: str, tgt: str,
                            glossary: Glossary | None = None, *,
                            priority: int | None = None,
                            normalise: bool = True) -> Translation:
        """Translate ``text`` into ``tgt``. Never raises for engine trouble: the result is
        then the original text with ``translated=False`` and the reason (``engine_error``,
        ``timeout``, ``overloaded``). ``priority`` defaults to 1 for ``priority_langs``.
        ``normalise=False`` skips the chat stage for this request; ``rewrites`` on the
        result lists what the stage changed."""
        if self.chat is None or not normalise or not self.covers(src, tgt):
            return await self._translate_one(text, src, tgt, glossary, priority)
        prepared = self.chat.prepare(text, src, tgt, glossary)
        if prepared.direct is not None:
            self.stats.requests += 1
            return self.chat.render(prepared, tgt)
        result = await self._translate_one(prepared.text, src, tgt, prepared.glossary,
                                           priority)
        return self.chat.finish(prepared, result)

    async def _translate_one(self, text: str, src: str, tgt: str, glossary: Glossary | None,
                             priority: int | None) -> Translation:
        self.stats.requests += 1
        route = self.router.route(src, tgt)
        if route is None:
            return Translation(tgt, text, False, NO_ROUTE)
        # cache_id names the glossary's content too: a glossary deleted and created again
        # restarts at version 1 with other terms, and must not be served the old entries.
        key: CacheKey = (route.name, src, tgt, glossary.cache_id if glossary else "",
                         glossary.version if glossary else 0, text)
        cached = self.cache.get(key)
        if cached is not None:
            return Translation(tgt, cached, True, None, route.name)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._inflight = loop, {}  # futures of another loop never complete
        if priority is None:
            priority = 1 if tgt in self.priority_langs else 0
        future = self._inflight.get(key)
        if future is None:
            future = self._start(key, route, text, glossary, priority,
                                 loop.time() + self.timeout_s)
        else:
            self.stats.coalesced += 1
        try:
            # shield: one caller's deadline must not cancel the work others share.
            out = await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except (asyncio.TimeoutError, DeadlineExceeded):
            self.stats.timeouts += 1
            log.warning("translation %s->%s timed out after %.1fs", src, tgt, self.timeout_s)
            return Translation(tgt, text, False, TIMEOUT, route.name)
        except Overloaded:
            self.stats.shed += 1
            return Translation(tgt, text, False, OVERLOADED, route.name)
        except EngineError as exc:
            log.warning("%s", exc)
            return Translation(tgt, text, False, ENGINE_ERROR, route.name)
        return Translation(tgt, out, True, None, route.name)

    def _start(self, key: CacheKey, route: Route, text: str, glossary: Glossary | None,
               priority: int, deadline: float) -> asyncio.Future[str]:
        self.stats.engine_calls += 1
        future = asyncio.ensure_future(self._run_route(route, text, key[2], glossary,
                                                       priority, deadline))
        self._inflight[key] = future

        def finished(f: asyncio.Future[str]) -> None:
            if self._inflight.get(key) is f:
                del self._inflight[key]
            if f.cancelled():
                return
            exc = f.exception()  # also marks it retrieved for callers that timed out
            if exc is None:
                self.cache.put(key, f.result())
            elif not isinstance(exc, (Overloaded, DeadlineExceeded)):
                self.stats.errors += 1

        future.add_done_callback(finished)
        return future

    async def _run_route(self, route: Route, text: str, tgt: str, glossary: Glossary | None,
                         priority: int, deadline: float) -> str:
        """Every hop of ``route`` through the batcher: the first hop protects glossary spans
        (on the worker), the last verifies and restores them."""
        job = HopJob(route.hops, 0, text, glossary, tgt)
        while True:
            result = await self.batcher.submit(job, deadline=deadline, priority=priority)
            if result.done:
                return result.text
            job = job.next(result)

    async def drain(self) -> None:
        """Wait until every translation in flight has finished, failed or been shed (callers
        that timed out included): for graceful shutdown and for tests."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight.values()), return_exceptions=True)

    def snapshot(self) -> dict[str, Any]:
        """Every counter, for ``/v1/stats`` and the benchmark."""
        s, b, c = self.stats, self.batcher.stats, self.cache.stats
        return {
            "requests": s.requests, "engine_calls": s.engine_calls, "coalesced": s.coalesced,
            "errors": s.errors, "timeouts": s.timeouts, "shed": s.shed,
            "cache_hits": c.hits, "cache_misses": c.misses, "cache_entries": len(self.cache),
            "batches": b.batches, "batched_texts": b.batched_texts,
            "mean_batch": round(b.mean_batch, 2), "max_batch": b.max_batch,
            "batch_sizes": dict(b.size_histogram), "deduplicated": b.deduplicated,
            "shed_overload": b.shed_overload, "shed_deadline": b.shed_deadline,
            "glossary_fallbacks": b.glossary_fallbacks, "glossary_errors": b.glossary_errors,
            "queued": self.batcher.queued, "running_batches": self.batcher.running,
        }

    def close(self) -> None:
        """Fail queued work and stop the worker threads (running batches finish first)."""
        self.batcher.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
