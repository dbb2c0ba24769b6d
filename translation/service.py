"""``TranslationService``: the local ``Translator``: the front (``translation.front``: route,
cache, coalesce, deadline) over ``BatcherBackend``, which runs engine batches on threads.

Engines are synchronous; the back end hands each request to a ``TranslationBatcher`` that
batches requests from every room per engine and language pair and runs the batches on its own
worker threads, so the event loop never waits on a model; glossary protection and restore run
there too, around the engine calls. Every request has a deadline: a slow, overloaded or failing
engine yields the original text marked untranslated, never an exception for the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from babelcast.glossary import Glossary
from babelcast.translation.batcher import DeadlineExceeded, HopJob, Overloaded, TranslationBatcher
from babelcast.translation.chat import ChatStage
from babelcast.translation.engine import (
    ENGINE_ERROR,
    OVERLOADED,
    TIMEOUT,
    Engine,
    EngineError,
    Translation,
)
from babelcast.translation.front import FrontStats, TranslationFront, translate_all
from babelcast.translation.router import Route, Router

__all__ = ["BatcherBackend", "ServiceStats", "TranslationService", "translate_all"]

log = logging.getLogger("babelcast.translation")


@dataclass
class ServiceStats(FrontStats):
    engine_calls: int = 0  # requests that needed the engines (not cached, not coalesced)
    errors: int = 0        # requests the engine failed on
    timeouts: int = 0      # callers whose deadline passed first
    shed: int = 0          # callers answered "overloaded" (queue full)


class BatcherBackend:
    """Runs translations on this process's engines: a whole route (a pivot's two hops
    included) per unit, through the batcher on ``threads`` worker threads. Each caller waits
    at most until its own deadline; the batch goes on, and its result is still cached.

    ``max_batch_tokens`` and ``max_wait_ms`` shape the batches; ``max_queue`` bounds the
    requests waiting for a batch; translations into ``priority_langs`` (the host's language)
    are scheduled first and shed last."""

    def __init__(self, engines: Sequence[Engine], *, threads: int = 2,
                 max_batch_tokens: int = 1024, max_wait_ms: float = 5.0,
                 max_queue: int = 2048, priority_langs: Iterable[str] = ()) -> None:
        self.router = Router(engines)
        self.stats = ServiceStats()
        self.priority_langs = frozenset(priority_langs)
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="babelcast-translate")
        self.batcher = TranslationBatcher(self._executor, workers=threads,
                                          max_batch_tokens=max_batch_tokens,
                                          max_wait_ms=max_wait_ms, max_queue=max_queue)

    def unavailable(self) -> str | None:
        return None  # the engines are here

    def units(self, route: Route) -> Sequence[Route]:
        return (route,)  # a pivot's intermediate text stays on the worker

    def submit(self, unit: Route, text: str, glossary: Glossary | None,
               priority: int | None, deadline: float) -> asyncio.Future[Translation]:
        tgt = unit.hops[-1][2]
        if priority is None:
            priority = 1 if tgt in self.priority_langs else 0
        self.stats.engine_calls += 1
        future = asyncio.ensure_future(self._run_route(unit, text, tgt, glossary, priority,
                                                       deadline))

        def finished(f: asyncio.Future[Translation]) -> None:
            if f.cancelled():
                return
            exc = f.exception()  # also marks it retrieved for callers that timed out
            if exc is not None and not isinstance(exc, (Overloaded, DeadlineExceeded)):
                self.stats.errors += 1

        future.add_done_callback(finished)
        return future

    async def _run_route(self, route: Route, text: str, tgt: str, glossary: Glossary | None,
                         priority: int, deadline: float) -> Translation:
        """Every hop of ``route`` through the batcher: the first hop protects glossary spans
        (on the worker), the last verifies and restores them."""
        job = HopJob(route.hops, 0, text, glossary, tgt)
        while True:
            result = await self.batcher.submit(job, deadline=deadline, priority=priority)
            if result.done:
                return Translation(tgt, result.text, True, None, route.name)
            job = job.next(result)

    async def join(self, future: asyncio.Future[Translation], unit: Route, text: str,
                   deadline: float) -> Translation:
        src, tgt = unit.hops[0][1], unit.hops[-1][2]
        timeout_s = deadline - asyncio.get_running_loop().time()
        try:
            # shield: one caller's deadline must not cancel the work others share.
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except (asyncio.TimeoutError, DeadlineExceeded):
            self.stats.timeouts += 1
            log.warning("translation %s->%s timed out after %.1fs", src, tgt, timeout_s)
            return Translation(tgt, text, False, TIMEOUT, unit.name)
        except Overloaded:
            self.stats.shed += 1
            return Translation(tgt, text, False, OVERLOADED, unit.name)
        except EngineError as exc:
            log.warning("%s", exc)
            return Translation(tgt, text, False, ENGINE_ERROR, unit.name)

    def snapshot(self) -> dict[str, Any]:
        s, b = self.stats, self.batcher.stats
        return {
            "engine_calls": s.engine_calls, "errors": s.errors, "timeouts": s.timeouts,
            "shed": s.shed, "batches": b.batches, "batched_texts": b.batched_texts,
            "mean_batch": round(b.mean_batch, 2), "max_batch": b.max_batch,
            "batch_sizes": dict(b.size_histogram), "deduplicated": b.deduplicated,
            "shed_overload": b.shed_overload, "shed_deadline": b.shed_deadline,
            "glossary_fallbacks": b.glossary_fallbacks, "glossary_errors": b.glossary_errors,
            "queued": self.batcher.queued, "running_batches": self.batcher.running,
        }

    async def start(self) -> None:
        return None  # nothing to connect

    def close(self) -> None:
        """Fail queued work and stop the worker threads (running batches finish first)."""
        self.batcher.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        self.close()


class TranslationService(TranslationFront):
    """Translates chat text through the engines it is given (the front over a
    ``BatcherBackend``). Use from one event loop at a time.

    ``threads`` worker threads run batches; ``max_batch_tokens`` and ``max_wait_ms`` shape
    the batches; ``max_queue`` bounds the requests waiting for a batch; translations into
    ``priority_langs`` (the host's language) are scheduled first and shed last.

    ``chat_stage`` (default on) runs the chat-aware stage around protection and the engine
    (``translation.chat``); ``chat`` is the stage to use (default: the built-in rules)."""

    backend: BatcherBackend

    def __init__(self, engines: Sequence[Engine], *, threads: int = 2,
                 timeout_s: float = 5.0, cache_entries: int = 10_000,
                 max_batch_tokens: int = 1024, max_wait_ms: float = 5.0,
                 max_queue: int = 2048, priority_langs: Iterable[str] = (),
                 chat_stage: bool = True, chat: ChatStage | None = None) -> None:
        super().__init__(BatcherBackend(engines, threads=threads,
                                        max_batch_tokens=max_batch_tokens,
                                        max_wait_ms=max_wait_ms, max_queue=max_queue,
                                        priority_langs=priority_langs),
                         timeout_s=timeout_s, cache_entries=cache_entries,
                         chat=(chat or ChatStage()) if chat_stage else None)

    @property
    def stats(self) -> ServiceStats:
        return self.backend.stats

    @property
    def router(self) -> Router:
        return self.backend.router

    @property
    def batcher(self) -> TranslationBatcher:
        return self.backend.batcher

    @property
    def priority_langs(self) -> frozenset[str]:
        return self.backend.priority_langs
