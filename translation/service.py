"""``TranslationService``: the async front of translation (route, cache, coalesce, deadline).

Engines are synchronous; the service runs them on its own worker threads so the event loop
never waits on a model. Identical requests in flight share one engine call, finished results
are cached, and every request has a deadline: a slow or failing engine yields the original
text marked untranslated, never an exception for the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from glossary import Glossary, protect, restore
from translation.cache import CacheKey, TranslationCache
from translation.engine import (
    ENGINE_ERROR,
    NO_ROUTE,
    TIMEOUT,
    Engine,
    EngineError,
    Translation,
)
from translation.router import Route, Router

log = logging.getLogger("babelcast.translation")


@dataclass
class ServiceStats:
    requests: int = 0
    engine_calls: int = 0
    coalesced: int = 0
    errors: int = 0
    timeouts: int = 0


class TranslationService:
    """Translates chat text through the engines it is given. Use from one event loop."""

    def __init__(self, engines: Sequence[Engine], *, threads: int = 2,
                 timeout_s: float = 5.0, cache_entries: int = 10_000) -> None:
        self.router = Router(engines)
        self.timeout_s = timeout_s
        self.cache = TranslationCache(cache_entries)
        self.stats = ServiceStats()
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="babelcast-translate")
        self._inflight: dict[CacheKey, asyncio.Future[str]] = {}

    @property
    def engines(self) -> list[Engine]:
        return self.router.engines

    def covers(self, src: str, tgt: str) -> bool:
        """Whether some route exists for the pair."""
        return self.router.route(src, tgt) is not None

    async def translate(self, text: str, src: str, targets: Iterable[str],
                        glossary: Glossary | None = None) -> dict[str, Translation]:
        """Translate ``text`` into every target (the source language itself is skipped)."""
        langs = [t for t in dict.fromkeys(targets) if t != src]
        results = await asyncio.gather(*(self.translate_one(text, src, t, glossary)
                                         for t in langs))
        return dict(zip(langs, results, strict=False))

    async def translate_one(self, text: str, src: str, tgt: str,
                            glossary: Glossary | None = None) -> Translation:
        """Translate ``text`` into ``tgt``. Never raises for engine trouble: the result is
        then the original text with ``translated=False`` and the reason."""
        self.stats.requests += 1
        route = self.router.route(src, tgt)
        if route is None:
            return Translation(tgt, text, False, NO_ROUTE)
        key: CacheKey = (src, tgt, text,
                         glossary.name if glossary else "", glossary.version if glossary else 0)
        cached = self.cache.get(key)
        if cached is not None:
            return Translation(tgt, cached, True, None, route.name)
        future = self._inflight.get(key)
        if future is None:
            future = self._start(key, route, text, glossary)
        else:
            self.stats.coalesced += 1
        try:
            # shield: one caller's deadline must not cancel the call others share.
            out = await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except asyncio.TimeoutError:
            self.stats.timeouts += 1
            log.warning("translation %s->%s timed out after %.1fs", src, tgt, self.timeout_s)
            return Translation(tgt, text, False, TIMEOUT, route.name)
        except EngineError as exc:
            log.warning("%s", exc)
            return Translation(tgt, text, False, ENGINE_ERROR, route.name)
        return Translation(tgt, out, True, None, route.name)

    def _start(self, key: CacheKey, route: Route, text: str,
               glossary: Glossary | None) -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        self.stats.engine_calls += 1
        future = loop.run_in_executor(self._executor, _run_route, route, text, glossary)
        self._inflight[key] = future

        def finished(f: asyncio.Future[str]) -> None:
            self._inflight.pop(key, None)
            if f.cancelled():
                return
            if f.exception() is None:
                self.cache.put(key, f.result())
            else:
                # Counted here; also marks the exception retrieved for callers that timed out.
                self.stats.errors += 1

        future.add_done_callback(finished)
        return future

    def close(self) -> None:
        """Stop the worker threads (running calls finish first)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _run_route(route: Route, text: str, glossary: Glossary | None) -> str:
    """Protect, run every hop of ``route``, restore: all on a worker thread."""
    protected = protect(text, glossary)
    text = protected.text
    for engine, src, tgt in route.hops:
        try:
            (text,) = engine.translate_batch([text], src, tgt)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"{engine.name} failed on {src}->{tgt}: {exc}") from exc
    return restore(text, protected)
