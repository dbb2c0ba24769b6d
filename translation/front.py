"""``TranslationFront``: what every ``Translator`` does the same way, in front of a back end
that runs the work.

The front routes a request over the engines its back end can reach, looks up its cache, joins
an identical request in flight instead of starting another, caches what comes back translated,
and chains the parts of a pivot. A back end does only what differs:

- the local one (``translation.service``) runs a whole route through the batcher on worker
  threads, where glossary protection and restore happen around the engine calls;
- the remote one (``translation.remote.client``) queues one job per hop on a Redis stream
  and resolves it when a translator node's reply comes back (the translator protects and
  restores with its own local service).

The unit a back end runs is a ``Route``: the local back end runs a pivot as one unit (its
intermediate text never leaves the worker), the remote one as one unit per hop (each leg may
run on another translator node). The front caches and coalesces per unit.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from babelcast.glossary import Glossary
from babelcast.translation.cache import CacheKey, TranslationCache
from babelcast.translation.chat import ChatStage
from babelcast.translation.engine import NO_ROUTE, Engine, Translation
from babelcast.translation.router import Route, Router


@dataclass
class FrontStats:
    """The front's counters; each back end's stats extend them with its own."""

    requests: int = 0   # translate_one calls
    coalesced: int = 0  # requests that joined an identical one in flight
    no_route: int = 0   # requests no reachable engine covers (passed through)


class Backend(Protocol):
    """What a ``TranslationFront`` needs of the part that runs translations."""

    @property
    def stats(self) -> FrontStats:
        """The counters, front's included (the front counts into them)."""
        ...

    @property
    def router(self) -> Router:
        """Routes over the engines reachable now."""
        ...

    def unavailable(self) -> str | None:
        """Why nothing can be translated now (a ``Translation.reason``), or None."""
        ...

    def units(self, route: Route) -> Sequence[Route]:
        """The parts of ``route`` run, cached and shared one by one, in order."""
        ...

    def submit(self, unit: Route, text: str, glossary: Glossary | None,
               priority: int | None, deadline: float) -> asyncio.Future[Translation]:
        """Start ``unit`` on ``text``; the future is shared by every caller of the same
        request. ``deadline`` is in ``loop.time()`` seconds."""
        ...

    async def join(self, future: asyncio.Future[Translation], unit: Route, text: str,
                   deadline: float) -> Translation:
        """One caller's wait for a shared ``future``: never raises for translation trouble
        and never cancels the shared work."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The back end's own counters."""
        ...

    async def start(self) -> None:
        """Connect (remote) or nothing (local)."""
        ...

    def close(self) -> None:
        """Answer every caller still waiting and stop scheduling."""
        ...

    async def aclose(self) -> None:
        """``close``, then release what ``start`` acquired."""
        ...


async def translate_all(translate_one: Callable[..., Awaitable[Translation]], text: str,
                        src: str, targets: Iterable[str],
                        glossary: Glossary | None = None) -> dict[str, Translation]:
    """``translate_one`` into every distinct target but ``src``, concurrently."""
    langs = [t for t in dict.fromkeys(targets) if t != src]
    results = await asyncio.gather(*(translate_one(text, src, t, glossary) for t in langs))
    return dict(zip(langs, results, strict=True))


class TranslationFront:
    """A ``Translator`` over ``backend``: routing, cache, coalescing, deadline, pivots. Use
    from one event loop at a time.

    ``timeout_s`` is each request's deadline; ``cache_entries`` sizes the cache of finished
    translations (per unit: ``CacheKey``); ``chat`` is the chat-aware stage run around every
    request (``translation.chat``: normalisation before protection and the engine, the
    writer's style given back after); None: no stage."""

    def __init__(self, backend: Backend, *, timeout_s: float = 5.0,
                 cache_entries: int = 10_000, chat: ChatStage | None = None) -> None:
        self.backend = backend
        self.chat = chat
        self.timeout_s = timeout_s
        self.cache = TranslationCache(cache_entries)
        self._inflight: dict[CacheKey, asyncio.Future[Translation]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def stats(self) -> FrontStats:
        return self.backend.stats

    @property
    def engines(self) -> list[Engine]:
        """The engines the back end can reach now."""
        return list(self.backend.router.engines)

    def covers(self, src: str, tgt: str) -> bool:
        """Whether some route exists for the pair."""
        return self.backend.router.route(src, tgt) is not None

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
        """Translate ``text`` into ``tgt``. Never raises for translation trouble: the result
        is then the original text with ``translated=False`` and the reason (``no_route``,
        ``timeout``, ``engine_error``, ``overloaded``, ``no_translator``). ``normalise=False``
        skips the chat stage for this request; ``rewrites`` on the result lists what the
        stage changed."""
        if self.chat is None or not normalise or not self.covers(src, tgt):
            return await self._translate_one(text, src, tgt, glossary, priority)
        # The stage's "before" runs ahead of glossary protection (which the back end does),
        # its "after" on the result once the glossary is restored.
        prepared = self.chat.prepare(text, src, tgt, glossary)
        if prepared.direct is not None:  # a reaction rendered by rule: no model call
            self.stats.requests += 1
            return self.chat.render(prepared, tgt)
        result = await self._translate_one(prepared.text, src, tgt, prepared.glossary,
                                           priority)
        return self.chat.finish(prepared, result)

    async def _translate_one(self, text: str, src: str, tgt: str, glossary: Glossary | None,
                             priority: int | None) -> Translation:
        self.stats.requests += 1
        reason = self.backend.unavailable()
        if reason is not None:
            return Translation(tgt, text, False, reason)
        route = self.backend.router.route(src, tgt)
        if route is None:
            self.stats.no_route += 1
            return Translation(tgt, text, False, NO_ROUTE)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._inflight = loop, {}  # futures of another loop never complete
        deadline = loop.time() + self.timeout_s
        result = text
        engines: list[str] = []
        for unit in self.backend.units(route):
            part = await self._unit(unit, result, glossary, priority, deadline)
            if not part.translated:
                return Translation(tgt, text, False, part.reason, part.engine or route.name)
            result = part.text
            engines.append(part.engine or unit.name)
        return Translation(tgt, result, True, None, " > ".join(engines))

    async def _unit(self, unit: Route, text: str, glossary: Glossary | None,
                    priority: int | None, deadline: float) -> Translation:
        """One unit: the cache, else an identical unit in flight, else the back end."""
        src, tgt = unit.hops[0][1], unit.hops[-1][2]
        # cache_id names the glossary's content too: a glossary deleted and created again
        # restarts at version 1 with other terms, and must not be served the old entries.
        key: CacheKey = (unit.name, src, tgt, glossary.cache_id if glossary else "",
                         glossary.version if glossary else 0, text)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        future = self._inflight.get(key)
        if future is None:
            future = self.backend.submit(unit, text, glossary, priority, deadline)
            self._inflight[key] = future
            future.add_done_callback(lambda f: self._finished(key, f))
        else:
            self.stats.coalesced += 1
        return await self.backend.join(future, unit, text, deadline)

    def _finished(self, key: CacheKey, future: asyncio.Future[Translation]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
        if future.cancelled() or future.exception() is not None:
            return  # exception(): also marks it retrieved for callers that timed out
        result = future.result()
        if result.translated:
            self.cache.put(key, result)

    async def drain(self) -> None:
        """Wait until every translation in flight has finished, failed, been shed or timed
        out (callers that gave up included): for graceful shutdown and for tests."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight.values()), return_exceptions=True)

    def snapshot(self) -> dict[str, Any]:
        """Every counter, for ``/v1/stats`` and ``/metrics``: the front's, then the back
        end's."""
        s, c = self.stats, self.cache.stats
        return {"requests": s.requests, "coalesced": s.coalesced, "cache_hits": c.hits,
                "cache_misses": c.misses, "cache_entries": len(self.cache),
                **self.backend.snapshot()}

    async def start(self) -> None:
        """Start the back end (raises its error when it cannot)."""
        await self.backend.start()

    def close(self) -> None:
        """Answer every caller still waiting and stop the back end (synchronous)."""
        self.backend.close()

    async def aclose(self) -> None:
        """``close``, then disconnect what ``start`` connected."""
        await self.backend.aclose()
