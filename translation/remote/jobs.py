"""Translation across nodes: gateway nodes hand work to translator nodes through Redis.

``RemoteTranslator`` (gateway role, no models) stands in for ``TranslationService``: it looks up
the shared cache and queues a job on a Redis Stream in one round trip, and resolves the caller
when the reply comes back on its node's reply stream. ``TranslatorWorker`` (translator role,
models loaded) reads jobs through a consumer group, runs them concurrently through its
``TranslationService`` (so the batcher batches them), writes the reply and the shared cache and
acknowledges the job in one transaction, and claims the jobs of translators that died.
A pivot through English whose two legs run on different translators is chained by the
gateway: the first leg's result is the second leg's job.

Keys (``{p}`` is the key prefix, ``bc`` by default, shared with ``RedisBus``):

- ``{p}:tx:jobs:{engine}:{h}`` one stream of jobs per engine (``h`` hashes the engine's
                             coverage, so same-named engines covering different pairs do not
                             share one); capped, entries deleted once acknowledged; consumer
                             group ``translators``. A translator reads the streams of its own
                             engines only, so a job never reaches a translator that cannot do it.
- ``{p}:tx:reply:{node}``    a gateway node's reply stream (capped, expires when unused)
- ``{p}:tx:c:{src}:{tgt}:{h}`` shared cache: msgpack ``[text, engine]`` with a TTL; ``h`` hashes
                             the route, the glossary's cache id and the text
- ``{p}:tx:workers``         set of translator consumer names
- ``{p}:tx:w:{consumer}``    a translator's heartbeat: its engines, their language coverage and
                             its counters (expires unless refreshed)

Deadlines are wall-clock times (``time.time()``), so nodes' clocks must be roughly in sync
(NTP); a skew only makes jobs expire early or late by that much.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from babelcast.gateway.bus.redis import blocking_read_ms, stop_tasks
from babelcast.gateway.stores.redis import RedisGlossaryStore, client_for, ping_or_raise
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
    TranslationService,
)
from babelcast.translation.cache import LRUCache
from babelcast.translation.service import translate_all

log = logging.getLogger("babelcast.remote")

GROUP = "translators"

# Return the shared cache entry, or queue the job: one round trip per translation.
# KEYS: cache key, jobs stream. ARGV: jobs maxlen, packed job.
_SUBMIT = """
local hit = redis.call('GET', KEYS[1])
if hit then return hit end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'p', ARGV[2])
return false
"""


class _Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.workers = f"{prefix}:tx:workers"

    def jobs(self, desc: dict[str, Any]) -> str:
        """The jobs stream of the engine ``desc`` describes (see ``describe_engine``)."""
        coverage = msgpack.packb([bool(desc.get("m")), desc.get("p"), desc.get("l")])
        return f"{self.prefix}:tx:jobs:{desc['n']}:{hashlib.sha256(coverage).hexdigest()[:12]}"

    def worker(self, consumer: str) -> str:
        return f"{self.prefix}:tx:w:{consumer}"

    def reply(self, node: str) -> str:
        return f"{self.prefix}:tx:reply:{node}"

    def cache(self, route: str, src: str, tgt: str, cache_id: str, text: str) -> str:
        digest = hashlib.sha256("\0".join((route, cache_id, text)).encode()).hexdigest()[:32]
        return f"{self.prefix}:tx:c:{src}:{tgt}:{digest}"


async def _ensure_groups(client: aioredis.Redis, streams: Iterable[str]) -> None:
    """Create the jobs streams and their group if missing. From id 0, so that jobs queued
    before the group existed (or after Redis lost it) are still read."""
    for stream in streams:
        try:
            await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


# --- engines as the gateway sees them ------------------------------------------------------


def describe_engine(engine: Engine) -> dict[str, Any]:
    """What a translator advertises about one engine: name, whether it is multilingual and
    its coverage (``p``: pairs, or ``l``: languages translated all-to-all, which keeps NLLB's
    40,000 pairs small). Engines without ``pairs()`` advertise no coverage: any pair is sent."""
    out: dict[str, Any] = {"n": engine.name, "m": bool(getattr(engine, "multilingual", False))}
    pairs_of = getattr(engine, "pairs", None)
    if pairs_of is None:
        return out
    pairs = {(s, t) for s, t in pairs_of()}
    langs = sorted({lang for pair in pairs for lang in pair})
    if len(pairs) > 32 and len(pairs) == len(langs) * (len(langs) - 1):
        out["l"] = langs
    else:
        out["p"] = sorted(pairs)
    return out


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


# --- gateway side ----------------------------------------------------------------------------


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

    ``redis`` is a URL (own connection) or a shared client. ``timeout_s`` is the translation
    deadline (``--translation-timeout-ms``); ``refresh_s`` how often the list of live
    translators is read; ``cache_entries`` sizes this node's own cache in front of Redis'."""

    def __init__(self, redis: str | aioredis.Redis, *, timeout_s: float = 5.0,
                 prefix: str = "bc", node_id: str | None = None, cache_entries: int = 10_000,
                 refresh_s: float = 1.0, jobs_maxlen: int = 100_000) -> None:
        self._redis, self.url, self._owned = client_for(redis)
        self.keys = _Keys(prefix)
        self.timeout_s = timeout_s
        self.node_id = node_id or secrets.token_hex(4)
        self.refresh_s = refresh_s
        self.jobs_maxlen = jobs_maxlen
        self.reply_key = self.keys.reply(self.node_id)
        self.cache: LRUCache[tuple[str, ...], Translation] = LRUCache(cache_entries)
        self.stats = RemoteStats()
        self.redis_ok = True
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
        """Connect, read the live translators, start the reply reader (raises
        ``BusUnavailable`` with the URL when Redis cannot be reached)."""
        await ping_or_raise(self._redis, self.url)
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
        packed = msgpack.packb([
            job_id, text, src, tgt, glossary.name if glossary else None,
            glossary.cache_id if glossary else None, time.time() + timeout_s,
            self.reply_key, cache_key, priority])
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
            self.redis_ok = True
        except (RedisError, OSError) as exc:
            self.redis_ok = False
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
                text, engine = msgpack.unpackb(hit)
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
        backoff = 0.1
        block = blocking_read_ms(self._redis, 2.0)
        while not self._closing:
            try:
                batches = await self._redis.xread({self.reply_key: last}, block=block,
                                                  count=500)
                backoff = 0.1
                self.redis_ok = True
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                self.redis_ok = False
                log.warning("reading translation replies failed (%s); retrying in %.1fs",
                            exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for _key, entries in batches or []:
                for entry_id, fields in entries:
                    last = entry_id
                    self._on_reply(fields)

    def _on_reply(self, fields: dict[bytes, bytes]) -> None:
        try:
            job_id = fields[b"j"].decode()
            text, translated, reason, engine = msgpack.unpackb(fields[b"r"])
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
                self.redis_ok = True
            except (RedisError, OSError) as exc:
                # Keep the last list: a translator that is alive still answers jobs once
                # Redis is back; queueing fails fast meanwhile.
                self.redis_ok = False
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
            "redis_ok": self.redis_ok, "translators": {
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
        await stop_tasks([*self._tasks, *self._background])
        self._tasks = []
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self.reply_key)
        if self._owned:
            await self._redis.aclose()


# --- translator side ---------------------------------------------------------------------


@dataclass
class WorkerStats:
    jobs: int = 0       # jobs translated (then answered)
    expired: int = 0    # jobs past their deadline, acknowledged without work
    claimed: int = 0    # jobs claimed from translators that died
    malformed: int = 0  # entries that were not jobs (acknowledged and dropped)
    errors: int = 0     # Redis errors (each retried)

    def to_json(self) -> dict[str, int]:
        return {"jobs": self.jobs, "expired": self.expired, "claimed": self.claimed,
                "malformed": self.malformed, "errors": self.errors}


@dataclass(frozen=True)
class _Job:
    job_id: str
    text: str
    src: str
    tgt: str
    glossary: str | None
    glossary_id: str | None
    deadline: float
    reply: str
    cache_key: str
    priority: int | None = None

    @classmethod
    def decode(cls, fields: dict[bytes, bytes]) -> _Job:
        job_id, text, src, tgt, gname, gid, deadline, reply, ckey, priority = \
            msgpack.unpackb(fields[b"p"])
        return cls(job_id, text, src, tgt, gname, gid, float(deadline), reply, ckey, priority)


class TranslatorWorker:
    """The translator role: serves jobs from the Redis Stream with ``service`` (models loaded).

    Reads jobs from its engines' streams (``_Keys.jobs``) with ``XREADGROUP`` as consumer
    ``consumer`` (unique per process), at most
    ``concurrency`` at once; each runs through ``service.translate_one`` concurrently with the
    others, so the service's batcher batches them. The reply, the shared cache entry (TTL
    ``cache_ttl_s``) and the acknowledgement are one transaction: a job is acknowledged only
    once answered. Every ``heartbeat_s`` it renews its registration (engines, coverage,
    counters; expires after ``3 * heartbeat_s``) and marks the jobs it is working on as alive;
    jobs pending longer than ``claim_timeout_s`` belong to a dead translator and are claimed
    (``XAUTOCLAIM``). Jobs past their deadline are acknowledged without work.

    ``redis`` is a URL (own connection) or a shared client. The service is the caller's:
    ``close`` does not close it."""

    def __init__(self, service: TranslationService, redis: str | aioredis.Redis, *,
                 prefix: str = "bc", consumer: str | None = None, concurrency: int = 64,
                 claim_timeout_s: float = 2.0, heartbeat_s: float = 0.5,
                 cache_ttl_s: float = 3600.0, reply_ttl_s: float = 60.0,
                 reply_maxlen: int = 10_000, block_s: float = 2.0,
                 glossaries: RedisGlossaryStore | None = None) -> None:
        if claim_timeout_s < 2 * heartbeat_s:
            raise ValueError("claim_timeout_s must be at least twice heartbeat_s, else live "
                             "translators' jobs are claimed")
        self.service = service
        self._redis, self.url, self._owned = client_for(redis)
        self.keys = _Keys(prefix)
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.concurrency = concurrency
        self.claim_timeout_s = claim_timeout_s
        self.heartbeat_s = heartbeat_s
        self.cache_ttl_s = cache_ttl_s
        self.reply_ttl_s = reply_ttl_s
        self.reply_maxlen = reply_maxlen
        self.block_s = block_s
        self.glossaries = glossaries or RedisGlossaryStore(self._redis, prefix=prefix)
        self.stats = WorkerStats()
        # Jobs in progress by (stream, entry id): ids are only unique within a stream.
        self._jobs: dict[tuple[str, bytes], asyncio.Task[None]] = {}
        self._slot_free = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._heartbeat: asyncio.Task[None] | None = None
        self._closing = False
        self._engines = [describe_engine(e) for e in service.engines]
        self.streams = sorted({self.keys.jobs(desc) for desc in self._engines})

    async def start(self) -> None:
        """Connect, register, and start reading (raises ``BusUnavailable`` with the URL when
        Redis cannot be reached)."""
        await ping_or_raise(self._redis, self.url)
        await _ensure_groups(self._redis, self.streams)
        await self._beat()
        self._heartbeat = asyncio.create_task(self._beats(), name="tx-heartbeat")
        self._loops = [asyncio.create_task(self._consume(), name="tx-consume"),
                       asyncio.create_task(self._claims(), name="tx-claim")]

    @property
    def inflight(self) -> int:
        """Jobs being worked on now."""
        return len(self._jobs)

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop reading, give the jobs in progress ``grace_s`` to finish, then deregister.
        Jobs still unfinished stay unacknowledged: another translator claims them."""
        self._closing = True
        await stop_tasks(self._loops)
        if self._jobs and grace_s > 0:
            await asyncio.wait(list(self._jobs.values()), timeout=grace_s)
        await stop_tasks(list(self._jobs.values()))
        if self._heartbeat is not None:
            await stop_tasks([self._heartbeat])
        with contextlib.suppress(RedisError, OSError):
            pipe = self._redis.pipeline(transaction=False)
            pipe.delete(self.keys.worker(self.consumer))
            pipe.srem(self.keys.workers, self.consumer)
            await pipe.execute()
            await self._forget_consumer(self.consumer)
        if self._owned:
            await self._redis.aclose()

    async def _forget_consumer(self, consumer: str) -> None:
        """Remove a consumer from the group if it holds no pending job (DELCONSUMER would
        drop pending jobs with it)."""
        for stream in self.streams:
            info = await self._redis.xpending_range(stream, GROUP, "-", "+", 1,
                                                    consumername=consumer)
            if not info:
                await self._redis.xgroup_delconsumer(stream, GROUP, consumer)

    # --- reading and claiming ---------------------------------------------------------

    async def _consume(self) -> None:
        backoff = 0.1
        block = blocking_read_ms(self._redis, self.block_s)
        if not self.streams:
            return  # no engine, no jobs
        while not self._closing:
            while len(self._jobs) >= self.concurrency:
                self._slot_free.clear()
                await self._slot_free.wait()
            try:
                batches = await self._redis.xreadgroup(
                    GROUP, self.consumer, {stream: ">" for stream in self.streams},
                    count=self.concurrency - len(self._jobs), block=block)
                backoff = 0.1
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                backoff = await self._on_error("reading jobs", exc, backoff)
                continue
            for key, entries in batches or []:
                stream = key.decode() if isinstance(key, bytes) else key
                for entry_id, fields in entries:
                    # Even while closing: read jobs must be worked on or left pending.
                    self._start_job(stream, entry_id, fields)

    async def _claims(self) -> None:
        backoff = 0.1
        interval = self.claim_timeout_s / 4
        reap_every = max(1, int(30 / interval))
        for n in itertools.count(1):
            await asyncio.sleep(interval)
            if self._closing:
                return
            try:
                await self._claim()
                if n % reap_every == 0:
                    await self._reap_consumers()
                backoff = 0.1
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                backoff = await self._on_error("claiming jobs", exc, backoff)

    async def _claim(self) -> None:
        """Take over jobs pending longer than the claim timeout: their translator died
        (live ones keep theirs fresh with every heartbeat)."""
        for stream in self.streams:
            start: bytes | str = "0-0"
            while len(self._jobs) < self.concurrency:
                cursor, entries, *_deleted = await self._redis.xautoclaim(
                    stream, GROUP, self.consumer,
                    min_idle_time=int(self.claim_timeout_s * 1000), start_id=start,
                    count=self.concurrency - len(self._jobs))
                for entry_id, fields in entries:
                    if (stream, entry_id) in self._jobs:
                        continue  # ours, its keepalive was late
                    self.stats.claimed += 1
                    log.info("claimed job %s of a translator that stopped", entry_id.decode())
                    self._start_job(stream, entry_id, fields)
                if cursor in (b"0-0", "0-0"):
                    break
                start = cursor

    async def _reap_consumers(self) -> None:
        """Drop consumers of dead translators from the group once their jobs are claimed, so
        the group's consumer list does not grow with every restart."""
        alive = {m.decode() for m in await self._redis.smembers(self.keys.workers)}
        for stream in self.streams:
            for info in await self._redis.xinfo_consumers(stream, GROUP):
                name = info["name"]
                name = name.decode() if isinstance(name, bytes) else name
                if (name != self.consumer and name not in alive and info["pending"] == 0
                        and info["idle"] > 10_000 * self.claim_timeout_s):
                    await self._forget_consumer(name)

    async def _on_error(self, what: str, exc: Exception, backoff: float) -> float:
        self.stats.errors += 1
        if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
            # Redis lost the stream (restart without persistence): make it again.
            log.warning("%s: the consumer group is gone; creating it again", what)
            with contextlib.suppress(RedisError, OSError):
                await _ensure_groups(self._redis, self.streams)
                return 0.1
        log.warning("%s failed (%s); retrying in %.1fs", what, exc, backoff)
        await asyncio.sleep(backoff)
        return min(backoff * 2, 5.0)

    # --- heartbeat ---------------------------------------------------------------------

    async def _beats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._beat()
            except (RedisError, OSError) as exc:
                self.stats.errors += 1
                log.warning("translator heartbeat failed: %s", exc)

    async def _beat(self) -> None:
        beat = msgpack.packb({"e": self._engines, "s": {**self.stats.to_json(),
                                                          "inflight": len(self._jobs)}})
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self.keys.worker(self.consumer), beat, px=int(self.heartbeat_s * 3000))
        pipe.sadd(self.keys.workers, self.consumer)
        # Reset the idle time of the jobs in progress: they are not a dead translator's.
        for stream in self.streams:
            ids = [entry_id for (s, entry_id) in self._jobs if s == stream]
            if ids:
                pipe.xclaim(stream, GROUP, self.consumer, min_idle_time=0,
                            message_ids=ids, justid=True)
        await pipe.execute()

    # --- one job -----------------------------------------------------------------------

    def _start_job(self, stream: str, entry_id: bytes,
                   fields: dict[bytes, bytes] | None) -> None:
        task = asyncio.create_task(self._run(stream, entry_id, fields),
                                   name=f"tx-job-{entry_id!r}")
        self._jobs[stream, entry_id] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._jobs.get((stream, entry_id)) is t:
                del self._jobs[stream, entry_id]
            self._slot_free.set()
            if not t.cancelled() and t.exception() is not None:
                log.error("translation job %s failed", entry_id, exc_info=t.exception())

        task.add_done_callback(done)

    async def _run(self, stream: str, entry_id: bytes,
                   fields: dict[bytes, bytes] | None) -> None:
        try:
            job = _Job.decode(fields or {})
        except (KeyError, ValueError, TypeError) as exc:
            self.stats.malformed += 1
            log.warning("dropping malformed job %s: %s", entry_id, exc)
            await self._finish(stream, entry_id, None, None, False,
                               time.time() + self.claim_timeout_s)
            return
        if job.deadline <= time.time():
            self.stats.expired += 1
            await self._finish(stream, entry_id, job, None, False,
                               time.time() + self.claim_timeout_s)
            return
        glossary, cacheable = await self._glossary(job)
        kwargs: dict[str, Any] = {} if job.priority is None else {"priority": job.priority}
        result = await self.service.translate_one(job.text, job.src, job.tgt, glossary,
                                                  **kwargs)
        self.stats.jobs += 1  # before the reply: whoever reads the reply sees the count
        await self._finish(stream, entry_id, job, result, cacheable,
                           job.deadline + self.claim_timeout_s)

    async def _glossary(self, job: _Job) -> tuple[Glossary | None, bool]:
        """The job's glossary, and whether the result may be cached under the job's key
        (not when the glossary changed or vanished since the job was queued)."""
        if job.glossary is None:
            return None, True
        glossary = self.glossaries.get_built(job.glossary, job.glossary_id or "")
        if glossary is not None:
            return glossary, True  # no round trip: a cache id names one content
        glossary = await self.glossaries.get(job.glossary)
        return glossary, glossary is not None and glossary.cache_id == job.glossary_id

    async def _finish(self, stream: str, entry_id: bytes, job: _Job | None,
                      result: Translation | None, cacheable: bool, give_up_at: float) -> None:
        """Reply, cache and acknowledge in one transaction, retrying while Redis is away.
        After ``give_up_at`` the job is left pending (it is claimed, and found expired)."""
        backoff = 0.1
        while True:
            pipe = self._redis.pipeline(transaction=True)
            if job is not None and result is not None:
                pipe.xadd(job.reply, {"j": job.job_id, "r": msgpack.packb(
                    [result.text, result.translated, result.reason, result.engine])},
                    maxlen=self.reply_maxlen, approximate=True)
                # A gateway node that died leaves no reply stream behind for long.
                pipe.pexpire(job.reply, int(self.reply_ttl_s * 1000))
                if cacheable and result.translated:
                    pipe.set(job.cache_key, msgpack.packb([result.text, result.engine]),
                             px=int(self.cache_ttl_s * 1000))
            pipe.xack(stream, GROUP, entry_id)
            pipe.xdel(stream, entry_id)  # the streams' length is the backlog
            try:
                await pipe.execute()
                return
            except (RedisError, OSError) as exc:
                self.stats.errors += 1
                if time.time() > give_up_at:
                    log.warning("answering job %s failed (%s); leaving it pending", entry_id,
                                exc)
                    return
                log.warning("answering job %s failed (%s); retrying in %.1fs", entry_id, exc,
                            backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
