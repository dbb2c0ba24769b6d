"""``RemoteTranslator``: the gateway side of remote translation (see ``jobs`` for the design and
the keys). A gateway node without models translates through the translator nodes: the front
(``translation.front``: routing over the live translators' engines, this node's cache,
identical requests in flight) over ``JobQueueBackend``, which looks up the shared cache and
queues a job in one round trip; replies come back on this node's reply stream."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
from redis.exceptions import NoScriptError, RedisError

from babelcast.glossary import Glossary
from babelcast.translation.chat import ChatStage
from babelcast.translation.engine import (
    ENGINE_ERROR,
    NO_TRANSLATOR,
    TIMEOUT,
    EngineError,
    Translation,
)
from babelcast.translation.front import FrontStats, TranslationFront
from babelcast.translation.remote.jobs import Job, Keys, RedisLink, unpack_cached, unpack_reply
from babelcast.translation.router import Route, Router

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
class RemoteStats(FrontStats):
    jobs: int = 0            # jobs queued for translators
    redis_cache_hits: int = 0  # answered by the shared cache (no job)
    replies: int = 0         # replies received in time
    late_replies: int = 0    # replies after their caller's deadline (discarded)
    timeouts: int = 0        # jobs not answered within the timeout
    errors: int = 0          # jobs that could not be queued (Redis unavailable)
    no_translator: int = 0   # requests answered at once: no translator alive


@dataclass
class _Pending:
    future: asyncio.Future[Translation]
    tgt: str
    text: str
    route: str
    timeout_s: float
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Outgoing:
    job_id: str
    cache_key: str
    stream: str  # the jobs stream of the engine that runs it
    packed: bytes


class JobQueueBackend:
    """The remote back end of a ``TranslationFront``: one job per hop on the jobs stream of
    the hop's engine (the legs of a pivot may run on different translators), each resolved
    by a reply on this node's reply stream, by the shared cache, by an error, or by its
    deadline. Never raises for translation trouble: the result is then the original text with
    ``translated=False`` and the reason (``no_translator``, ``timeout``, ``engine_error``).

    ``link`` is this component's Redis (closed by ``aclose`` if it owns its client; its
    ``health`` is what ``snapshot`` reports as ``redis_ok``); ``refresh_s`` is how often the
    list of live translators is read."""

    def __init__(self, link: RedisLink, *, prefix: str = "bc", node_id: str | None = None,
                 refresh_s: float = 1.0, jobs_maxlen: int = 100_000) -> None:
        self.link = link
        self._redis = link.client
        self.url = link.url
        self.keys = Keys(prefix)
        self.node_id = node_id or secrets.token_hex(4)
        self.refresh_s = refresh_s
        self.jobs_maxlen = jobs_maxlen
        self.reply_key = self.keys.reply(self.node_id)
        self.stats = RemoteStats()
        self.health = link.health
        self.backlog = 0  # jobs queued or in progress (the jobs stream's length)
        self._engines: list[RemoteEngine] = []  # of the live translators
        self.router = Router([])  # over them
        self._translators: dict[str, dict[str, Any]] = {}
        self._signature: object = None
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
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
        start = await self.link.latest_id(self.reply_key)
        await self._refresh()
        self._tasks = [asyncio.create_task(self._read_replies(start), name="tx-replies"),
                       asyncio.create_task(self._watch(), name="tx-translators")]

    @property
    def translators(self) -> int:
        """How many translator nodes are alive."""
        return len(self._translators)

    # --- the Backend interface -------------------------------------------------------------

    def unavailable(self) -> str | None:
        if self._translators:
            return None
        self.stats.no_translator += 1
        return NO_TRANSLATOR

    def units(self, route: Route) -> Sequence[Route]:
        # One job per hop, each on the stream of its engine: a pivot is chained here (the
        # first leg's result is the second leg's job), and each leg is cached and shared.
        return tuple(Route((hop,)) for hop in route.hops)

    def submit(self, unit: Route, text: str, glossary: Glossary | None,
               priority: int | None, deadline: float) -> asyncio.Future[Translation]:
        (engine, src, tgt), = unit.hops
        assert isinstance(engine, RemoteEngine)  # this node's router knows no other kind
        loop = asyncio.get_running_loop()
        timeout_s = max(deadline - loop.time(), 0.001)
        route = unit.name
        job_id = f"{self.node_id}-{next(self._ids)}"
        future: asyncio.Future[Translation] = loop.create_future()
        pending = _Pending(future, tgt, text, route, timeout_s)
        pending.timer = loop.call_later(timeout_s, self._expire, job_id)
        self._pending[job_id] = pending
        cache_id = glossary.cache_id if glossary is not None else ""
        cache_key = self.keys.cache(route, src, tgt, cache_id, text)
        packed = Job(job_id, text, src, tgt, glossary.name if glossary else None,
                     glossary.cache_id if glossary else None, time.time() + timeout_s,
                     self.reply_key, cache_key, priority).pack()
        self._outbox.append(_Outgoing(job_id, cache_key, engine.stream, packed))
        if not self._flush_scheduled:
            # Requests made in the same loop iteration (one comment into every language
            # present) go to Redis in one pipeline.
            self._flush_scheduled = True
            self._spawn(self._flush())
        return future

    async def join(self, future: asyncio.Future[Translation], unit: Route, text: str,
                   deadline: float) -> Translation:
        # shield: one caller's cancellation must not cancel what others share. The future
        # always finishes: by a reply, the shared cache, an error, or its deadline.
        return await asyncio.shield(future)

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
        if not pending.future.done():
            pending.future.set_result(result)

    def _fail(self, job_id: str, reason: str) -> None:
        pending = self._pending.get(job_id)
        if pending is not None:
            self._resolve(job_id, Translation(pending.tgt, pending.text, False, reason,
                                              pending.route))

    def _expire(self, job_id: str) -> None:
        pending = self._pending.get(job_id)
        if pending is not None:
            self.stats.timeouts += 1
            log.warning("translation job %s timed out after %.1fs", job_id, pending.timeout_s)
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
            self.router = Router(self._engines)

    def snapshot(self) -> dict[str, Any]:
        """This node's counters, and each live translator's."""
        s = self.stats
        return {
            "mode": "remote", "jobs": s.jobs, "redis_cache_hits": s.redis_cache_hits,
            "replies": s.replies,
            "late_replies": s.late_replies, "timeouts": s.timeouts, "errors": s.errors,
            "no_translator": s.no_translator, "no_route": s.no_route,
            "inflight": len(self._pending), "backlog": self.backlog,
            "redis_ok": not self.health.degraded, "translators": {
                name: {"engines": [e["n"] for e in beat.get("e", [])], **beat.get("s", {})}
                for name, beat in sorted(self._translators.items())},
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def close(self) -> None:
        """Stop the background tasks and answer every caller still waiting (``engine_error``);
        ``aclose`` also disconnects."""
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


class RemoteTranslator(TranslationFront):
    """The gateway role's ``Translator``: the front over a ``JobQueueBackend``, served by
    translator nodes through Redis (``start`` connects, ``aclose`` disconnects).

    ``link`` is this component's Redis; ``timeout_s`` is the translation deadline
    (``--translation-timeout-ms``); ``refresh_s`` how often the list of live translators is
    read; ``cache_entries`` sizes this node's own cache in front of Redis'. The chat stage
    (``chat_stage``, ``chat``: as for ``TranslationService``) runs here, on the gateway node,
    so a room's choice and the rewrites stay with the request; translators do not run it
    again."""

    backend: JobQueueBackend

    def __init__(self, link: RedisLink, *, timeout_s: float = 5.0,
                 prefix: str = "bc", node_id: str | None = None, cache_entries: int = 10_000,
                 refresh_s: float = 1.0, jobs_maxlen: int = 100_000,
                 chat_stage: bool = True, chat: ChatStage | None = None) -> None:
        super().__init__(JobQueueBackend(link, prefix=prefix, node_id=node_id,
                                         refresh_s=refresh_s, jobs_maxlen=jobs_maxlen),
                         timeout_s=timeout_s, cache_entries=cache_entries,
                         chat=(chat or ChatStage()) if chat_stage else None)

    @property
    def stats(self) -> RemoteStats:
        return self.backend.stats

    @property
    def translators(self) -> int:
        """How many translator nodes are alive."""
        return self.backend.translators

    @property
    def node_id(self) -> str:
        """This node's name in the reply stream's key."""
        return self.backend.node_id
