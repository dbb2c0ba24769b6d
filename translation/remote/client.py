"""``RemoteTranslator``: the gateway side of remote translation (see ``jobs`` for the design and
the keys). A gateway node without models translates through the translator nodes: its own
cache, identical requests in flight, then the shared cache and a job in one round trip; replies
come back on this node's reply stream."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgpack
from redis.exceptions import NoScriptError, RedisError

from babelcast.glossary import Glossary
from babelcast.translation import (
    ENGINE_ERROR,
    NO_ROUTE,
    NO_TRANSLATOR,
    TIMEOUT,
    Engine,
    EngineError,
    Router,
    Translation,
)
from babelcast.translation.cache import LRUCache
from babelcast.translation.remote.jobs import Job, Keys, RedisLink, unpack_cached, unpack_reply
from babelcast.translation.service import translate_all

log = logging.getLogger("babelcast.remote")

# Return the shared cache entry, or queue the job: one round trip per translation.
# KEYS: cache key, jobs stream. ARGV: jobs maxlen, packed job.
_SUBMIT = """
local hit = redis.call('GET', KEYS[1])
if hit then return hit end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'p', ARGV[2])
return false
"""


class RemoteEngine:
    """An engine of a live translator node, as a gateway node sees it: enough for routing
    (``supports``) and for listing (``name``). It translates nothing here."""

    def __init__(self, name: str, multilingual: bool, stream: str) -> None:
        self.name = name
        self.multilingual = multilingual
        self.stream = stream  # where its jobs go
        self.translators = 0  # live translators that run it
        self._pairs: set[tuple[str, str]] = set()
        self._langs: set[str] = set()
        self._any = False

    def add(self, desc: dict[str, Any]) -> None:
        """Merge one translator's description of this engine (coverage is the union)."""
        self.translators += 1
        self.multilingual = self.multilingual or bool(desc.get("m"))
        if "p" in desc:
            self._pairs.update((s, t) for s, t in desc["p"])
        elif "l" in desc:
            self._langs.update(desc["l"])
        else:
            self._any = True

    def supports(self, src: str, tgt: str) -> bool:
        """Whether some live translator runs this engine for ``src`` -> ``tgt``."""
        return (self._any or (src, tgt) in self._pairs
                or (src != tgt and src in self._langs and tgt in self._langs))

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        raise EngineError(f"{self.name} runs on translator nodes, not on this gateway node")


@dataclass
class RemoteStats:
    requests: int = 0        # translate_one calls
    jobs: int = 0            # jobs queued for translators
    coalesced: int = 0       # requests that joined an identical one in flight
    redis_cache_hits: int = 0  # answered by the shared cache (no job)
    replies: int = 0         # replies received in time
    late_replies: int = 0    # replies after their caller's deadline (discarded)
    timeouts: int = 0        # jobs not answered within the timeout
    errors: int = 0          # jobs that could not be queued (Redis unavailable)
    no_translator: int = 0   # requests answered at once: no translator alive
    no_route: int = 0        # requests no live translator covers


@dataclass
class _Pending:
    future: asyncio.Future[Translation]
    key: tuple[str, ...]
    tgt: str
    text: str
    route: str
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Outgoing:
    job_id: str
    cache_key: str
    stream: str  # the jobs stream of the engine that runs it
    packed: bytes


class RemoteTranslator:
    """The gateway role's translator: the ``TranslationService`` interface the gateway uses
    (``translate_one``, ``translate``, ``engines``, ``covers``, ``snapshot``, ``drain``), served
    by translator nodes through Redis. Never raises for translation trouble: the result is
    then the original text with ``translated=False`` and the reason (``no_translator``,
    ``no_route``, ``timeout``, ``engine_error``).

    ``link`` is this component's Redis (closed by ``aclose`` if it owns its client; its
    ``health`` is what ``snapshot`` reports as ``redis_ok``). ``timeout_s`` is the translation
    deadline (``--translation-timeout-ms``); ``refresh_s`` how often the list of live
    translators is read; ``cache_entries`` sizes this node's own cache in front of Redis'."""

    def __init__(self, link: RedisLink, *, timeout_s: float = 5.0,
                 prefix: str = "bc", node_id: str | None = None, cache_entries: int = 10_000,
                 refresh_s: float = 1.0, jobs_maxlen: int = 100_000) -> None:
        self.link = link
        self._redis = link.client
        self.url = link.url
        self.keys = Keys(prefix)
        self.timeout_s = timeout_s
        self.node_id = node_id or secrets.token_hex(4)
        self.refresh_s = refresh_s
        self.jobs_maxlen = jobs_maxlen
        self.reply_key = self.keys.reply(self.node_id)
        self.cache: LRUCache[tuple[str, ...], Translation] = LRUCache(cache_entries)
        self.stats = RemoteStats()
        self.health = link.health
        self.backlog = 0  # jobs queued or in progress (the jobs stream's length)
        self._translators: dict[str, dict[str, Any]] = {}
        self._engines: list[RemoteEngine] = []
        self._router = Router([])
        self._signature: object = None
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._inflight: dict[tuple[str, ...], asyncio.Future[Translation]] = {}
        self._outbox: list[_Outgoing] = []
        self._flush_scheduled = False
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._submit_sha = ""
        self._closing = False

    async def start(self) -> None:
        """Connect, read the live translators, start the reply reader (raises the link's
        error, naming the URL, when Redis cannot be reached)."""
        await self.link.ping()
        self._submit_sha = await self._redis.script_load(_SUBMIT)
        # Read replies from the stream's end now: older entries belong to no job of ours.
        last = await self._redis.xrevrange(self.reply_key, count=1)
        start = last[0][0] if last else b"0-0"
        await self._refresh()
        self._tasks = [asyncio.create_task(self._read_replies(start), name="tx-replies"),
                       asyncio.create_task(self._watch(), name="tx-translators")]

    # --- the TranslationService interface ------------------------------------------------

    @property
    def engines(self) -> list[RemoteEngine]:
        """The engines of the live translators (empty when none is alive)."""
        return list(self._engines)

    @property
    def translators(self) -> int:
        """How many translator nodes are alive."""
        return len(self._translators)

    def covers(self, src: str, tgt: str) -> bool:
        """Whether some live translator has a route for the pair."""
        return self._router.route(src, tgt) is not None

    async def translate(self, text: str, src: str, targets: Iterable[str],
                        glossary: Glossary | None = None) -> dict[str, Translation]:
        """Translate ``text`` into every target (the source language itself is skipped)."""
        return await translate_all(self.translate_one, text, src, targets, glossary)

    async def translate_one(self, text: str, src: str, tgt: str,
                            glossary: Glossary | None = None, *,
                            priority: int | None = None) -> Translation:
        """Translate ``text`` into ``tgt`` on a translator node: this node's cache, then
        identical requests in flight, then the shared cache and a job (one round trip). A
        pivot through English is two jobs, one per leg, each on the stream of its engine (the
        legs may run on different translators); the result names both legs' engines."""
        self.stats.requests += 1
        if not self._translators:
            self.stats.no_translator += 1
            return Translation(tgt, text, False, NO_TRANSLATOR)
        route = self._router.route(src, tgt)
        if route is None:
            self.stats.no_route += 1
            return Translation(tgt, text, False, NO_ROUTE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        result = text
        engines: list[str] = []
        for engine, hop_src, hop_tgt in route.hops:
            leg = await self._leg(engine, result, hop_src, hop_tgt, glossary, priority,
                                  max(deadline - loop.time(), 0.001))
            if not leg.translated:
                return Translation(tgt, text, False, leg.reason, leg.engine or route.name)
            result = leg.text
            engines.append(leg.engine or engine.name)
        return Translation(tgt, result, True, None, " > ".join(engines))

    async def _leg(self, engine: Engine, text: str, src: str, tgt: str,
                   glossary: Glossary | None, priority: int | None,
                   timeout_s: float) -> Translation:
        """One hop on ``engine``'s translators (the whole route when it has one hop)."""
        route = f"{engine.name}({src}->{tgt})"
        cache_id = glossary.cache_id if glossary is not None else ""
        key = (route, src, tgt, cache_id, text)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        future = self._inflight.get(key)
        if future is None:
            assert isinstance(engine, RemoteEngine)  # this node's router knows no other kind
            future = self._submit(key, route, engine.stream, text, src, tgt, glossary,
                                  priority, timeout_s)
        else:
            self.stats.coalesced += 1
        # shield: one caller's cancellation must not cancel what others share. The future
        # always finishes: by a reply, the shared cache, an error, or its deadline.
        return await asyncio.shield(future)

    def _submit(self, key: tuple[str, ...], route: str, stream: str, text: str, src: str,
                tgt: str, glossary: Glossary | None, priority: int | None,
                timeout_s: float) -> asyncio.Future[Translation]:
        loop = asyncio.get_running_loop()
        job_id = f"{self.node_id}-{next(self._ids)}"
        future: asyncio.Future[Translation] = loop.create_future()
        pending = _Pending(future, key, tgt, text, route)
        pending.timer = loop.call_later(timeout_s, self._expire, job_id)
        self._pending[job_id] = pending
        self._inflight[key] = future

        def finished(f: asyncio.Future[Translation]) -> None:
            if self._inflight.get(key) is f:
                del self._inflight[key]

        future.add_done_callback(finished)
        cache_key = self.keys.cache(route, src, tgt, key[3], text)
        packed = Job(job_id, text, src, tgt, glossary.name if glossary else None,
                     glossary.cache_id if glossary else None, time.time() + timeout_s,
                     self.reply_key, cache_key, priority).pack()
        self._outbox.append(_Outgoing(job_id, cache_key, stream, packed))
        if not self._flush_scheduled:
            # Requests made in the same loop iteration (one comment into every language
            # present) go to Redis in one pipeline.
            self._flush_scheduled = True
            self._spawn(self._flush())
        return future

    async def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._outbox = self._outbox, []
        if not batch:
            return
        try:
            results = await self._send(batch)
            self.health.answered()
        except (RedisError, OSError) as exc:
            self.health.failed("queueing translation jobs", exc)
            log.warning("queueing %d translation job(s) failed: %s", len(batch), exc)
            for out in batch:
                self.stats.errors += 1
                self._fail(out.job_id, ENGINE_ERROR)
            return
        for out, hit in zip(batch, results, strict=True):
            if hit is None:
                self.stats.jobs += 1
                continue
            self.stats.redis_cache_hits += 1
            pending = self._pending.get(out.job_id)
            if pending is not None:
                text, engine = unpack_cached(hit)
                self._resolve(out.job_id, Translation(pending.tgt, text, True, None, engine))

    async def _send(self, batch: list[_Outgoing]) -> list[bytes | None]:
        for attempt in range(2):
            pipe = self._redis.pipeline(transaction=False)
            for out in batch:
                pipe.evalsha(self._submit_sha, 2, out.cache_key, out.stream,
                             self.jobs_maxlen, out.packed)
            try:
                return list(await pipe.execute())
            except NoScriptError:
                if attempt:
                    raise
                # Redis restarted (scripts are not persisted): load it again, once.
                self._submit_sha = await self._redis.script_load(_SUBMIT)
        raise AssertionError("unreachable")

    def _resolve(self, job_id: str, result: Translation) -> None:
        pending = self._pending.pop(job_id, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        if result.translated:
            self.cache.put(pending.key, result)
        if not pending.future.done():
            pending.future.set_result(result)

    def _fail(self, job_id: str, reason: str) -> None:
        pending = self._pending.get(job_id)
        if pending is not None:
            self._resolve(job_id, Translation(pending.tgt, pending.text, False, reason,
                                              pending.route))

    def _expire(self, job_id: str) -> None:
        if job_id in self._pending:
            self.stats.timeouts += 1
            log.warning("translation job %s timed out after %.1fs", job_id, self.timeout_s)
            self._fail(job_id, TIMEOUT)

    async def _read_replies(self, last: bytes) -> None:
        """The one reader of this node's reply stream: resolves the callers' futures."""
        replies = self.link.tail(self.reply_key, last, wanted_block_s=2.0, count=500,
                                 backoff=self.link.backoff(0.1, 5.0), health=self.health,
                                 running=lambda: not self._closing)
        async for _entry_id, fields in replies:
            self._on_reply(fields)

    def _on_reply(self, fields: dict[bytes, bytes]) -> None:
        try:
            job_id, text, translated, reason, engine = unpack_reply(fields)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("malformed translation reply %r: %s", fields, exc)
            return
        pending = self._pending.get(job_id)
        if pending is None:
            self.stats.late_replies += 1
            return
        self.stats.replies += 1
        self._resolve(job_id, Translation(pending.tgt, text, translated, reason, engine))

    async def _watch(self) -> None:
        """Keep the list of live translators (and the backlog) current."""
        while not self._closing:
            await asyncio.sleep(self.refresh_s)
            try:
                await self._refresh()
                self.health.answered()
            except (RedisError, OSError) as exc:
                # Keep the last list: a translator that is alive still answers jobs once
                # Redis is back; queueing fails fast meanwhile.
                self.health.failed("reading the live translators", exc)
                log.warning("reading the live translators failed: %s", exc)

    async def _refresh(self) -> None:
        names = sorted(n.decode() for n in await self._redis.smembers(self.keys.workers))
        streams = [e.stream for e in self._engines]
        pipe = self._redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xlen(stream)
        if names:
            pipe.mget([self.keys.worker(n) for n in names])
        found = await pipe.execute()
        self.backlog = sum(int(n) for n in found[:len(streams)])
        beats = found[len(streams)] if names else []
        live: dict[str, dict[str, Any]] = {}
        gone = []
        for name, raw in zip(names, beats, strict=True):
            if raw is None:
                gone.append(name)  # expired: that translator stopped refreshing
                continue
            with contextlib.suppress(ValueError, TypeError):
                live[name] = msgpack.unpackb(raw)
        if gone:
            await self._redis.srem(self.keys.workers, *gone)
        self._translators = live
        signature = [(n, live[n].get("e")) for n in sorted(live)]
        if signature != self._signature:
            self._signature = signature
            engines: dict[str, RemoteEngine] = {}
            for name in sorted(live):
                for desc in live[name].get("e", []):
                    # One engine per jobs stream: same name and the same coverage.
                    stream = self.keys.jobs(desc)
                    engine = engines.get(stream)
                    if engine is None:
                        engine = engines[stream] = RemoteEngine(desc["n"], bool(desc.get("m")),
                                                                stream)
                    engine.add(desc)
            self._engines = list(engines.values())
            self._router = Router(self._engines)

    def snapshot(self) -> dict[str, Any]:
        """Every counter, for ``/v1/stats``: this node's, and each live translator's."""
        s = self.stats
        return {
            "mode": "remote", "requests": s.requests, "jobs": s.jobs,
            "coalesced": s.coalesced, "redis_cache_hits": s.redis_cache_hits,
            "cache_hits": self.cache.stats.hits, "cache_misses": self.cache.stats.misses,
            "cache_entries": len(self.cache), "replies": s.replies,
            "late_replies": s.late_replies, "timeouts": s.timeouts, "errors": s.errors,
            "no_translator": s.no_translator, "no_route": s.no_route,
            "inflight": len(self._pending), "backlog": self.backlog,
            "redis_ok": not self.health.degraded, "translators": {
                name: {"engines": [e["n"] for e in beat.get("e", [])], **beat.get("s", {})}
                for name, beat in sorted(self._translators.items())},
        }

    async def drain(self) -> None:
        """Wait until every job in flight has been answered or has timed out."""
        while self._pending:
            await asyncio.gather(*(p.future for p in list(self._pending.values())),
                                 return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def close(self) -> None:
        """Stop the background tasks and answer every caller still waiting (``engine_error``).
        Synchronous like ``TranslationService.close``; ``aclose`` also disconnects."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for job_id in list(self._pending):
            self._fail(job_id, ENGINE_ERROR)

    async def aclose(self) -> None:
        """``close``, then delete this node's reply stream and disconnect."""
        self.close()
        await self.link.stop_tasks([*self._tasks, *self._background])
        self._tasks = []
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self.reply_key)
        await self.link.close()
