"""``TranslatorWorker``: the translator side of remote translation (see ``jobs`` for the design
and the keys). A translator node with models loaded serves the jobs of its engines' streams
through a consumer group, answers each on the asking gateway node's reply stream, fills the
shared cache, and claims the jobs of translators that died."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, Protocol

import msgpack
from redis.exceptions import RedisError

from babelcast.glossary import Glossary
from babelcast.translation import Translation, TranslationService
from babelcast.translation.remote.jobs import (
    GROUP,
    Backoff,
    Job,
    Keys,
    RedisLink,
    describe_engine,
    pack_cached,
    pack_reply,
)

log = logging.getLogger("babelcast.remote")


class GlossarySource(Protocol):
    """Where the worker finds a job's glossary by name: the gateway's shared glossary store
    (``GlossaryStore``) is one."""

    def get_built(self, name: str, cache_id: str) -> Glossary | None:
        """The glossary if this node has built the version ``cache_id`` names (no round
        trip)."""
        ...

    async def get(self, name: str) -> Glossary | None:
        """The current glossary ``name``, or None."""
        ...


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


class TranslatorWorker:
    """The translator role: serves jobs from the Redis Stream with ``service`` (models loaded).

    Reads jobs from its engines' streams (``Keys.jobs``) with ``XREADGROUP`` as consumer
    ``consumer`` (unique per process), at most
    ``concurrency`` at once; each runs through ``service.translate_one`` concurrently with the
    others, so the service's batcher batches them. The reply, the shared cache entry (TTL
    ``cache_ttl_s``) and the acknowledgement are one transaction: a job is acknowledged only
    once answered. Every ``heartbeat_s`` it renews its registration (engines, coverage,
    counters; expires after ``3 * heartbeat_s``) and marks the jobs it is working on as alive;
    jobs pending longer than ``claim_timeout_s`` belong to a dead translator and are claimed
    (``XAUTOCLAIM``). Jobs past their deadline are acknowledged without work.

    ``link`` is this component's Redis (closed by ``close`` if it owns its client);
    ``glossaries`` finds the glossary a job names (the shared glossary store). The service is
    the caller's: ``close`` does not close it."""

    def __init__(self, service: TranslationService, link: RedisLink, *,
                 glossaries: GlossarySource,
                 prefix: str = "bc", consumer: str | None = None, concurrency: int = 64,
                 claim_timeout_s: float = 2.0, heartbeat_s: float = 0.5,
                 cache_ttl_s: float = 3600.0, reply_ttl_s: float = 60.0,
                 reply_maxlen: int = 10_000, block_s: float = 2.0) -> None:
        if claim_timeout_s < 2 * heartbeat_s:
            raise ValueError("claim_timeout_s must be at least twice heartbeat_s, else live "
                             "translators' jobs are claimed")
        self.service = service
        self.link = link
        self._redis = link.client
        self.url = link.url
        self.keys = Keys(prefix)
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.concurrency = concurrency
        self.claim_timeout_s = claim_timeout_s
        self.heartbeat_s = heartbeat_s
        self.cache_ttl_s = cache_ttl_s
        self.reply_ttl_s = reply_ttl_s
        self.reply_maxlen = reply_maxlen
        self.block_s = block_s
        self.glossaries = glossaries
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
        """Connect, register, and start reading (raises the link's error, naming the URL,
        when Redis cannot be reached)."""
        await self.link.ping()
        await self._ensure_groups()
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
        await self.link.stop_tasks(self._loops)
        if self._jobs and grace_s > 0:
            await asyncio.wait(list(self._jobs.values()), timeout=grace_s)
        await self.link.stop_tasks(list(self._jobs.values()))
        if self._heartbeat is not None:
            await self.link.stop_tasks([self._heartbeat])
        with contextlib.suppress(RedisError, OSError):
            pipe = self._redis.pipeline(transaction=False)
            pipe.delete(self.keys.worker(self.consumer))
            pipe.srem(self.keys.workers, self.consumer)
            await pipe.execute()
            await self._forget_consumer(self.consumer)
        await self.link.close()

    async def _ensure_groups(self) -> None:
        """Create the jobs streams and their group if missing (from id 0: jobs queued before
        the group existed, or after Redis lost it, are still read)."""
        for stream in self.streams:
            await self.link.ensure_group(stream, GROUP)

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
        backoff = self.link.backoff(0.1, 5.0)
        block = self.link.block_ms(self.block_s)
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
                backoff.reset()
                self.link.health.answered()
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                await self._on_error("reading jobs", exc, backoff)
                continue
            for key, entries in batches or []:
                stream = key.decode() if isinstance(key, bytes) else key
                for entry_id, fields in entries:
                    # Even while closing: read jobs must be worked on or left pending.
                    self._start_job(stream, entry_id, fields)

    async def _claims(self) -> None:
        backoff = self.link.backoff(0.1, 5.0)
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
                backoff.reset()
                self.link.health.answered()
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                await self._on_error("claiming jobs", exc, backoff)

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

    async def _on_error(self, what: str, exc: Exception, backoff: Backoff) -> None:
        self.stats.errors += 1
        self.link.health.failed(what, exc)
        if self.link.is_nogroup(exc):
            # Redis lost the stream (restart without persistence): make it again.
            log.warning("%s: the consumer group is gone; creating it again", what)
            with contextlib.suppress(RedisError, OSError):
                await self._ensure_groups()
                backoff.reset()
                return
        delay = backoff.next()
        log.warning("%s failed (%s); retrying in %.1fs", what, exc, delay)
        await asyncio.sleep(delay)

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
            job = Job.decode(fields or {})
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
        # The gateway that submitted the job ran the chat stage on the text already.
        result = await self.service.translate_one(job.text, job.src, job.tgt, glossary,
                                                  normalise=False, **kwargs)
        self.stats.jobs += 1  # before the reply: whoever reads the reply sees the count
        await self._finish(stream, entry_id, job, result, cacheable,
                           job.deadline + self.claim_timeout_s)

    async def _glossary(self, job: Job) -> tuple[Glossary | None, bool]:
        """The job's glossary, and whether the result may be cached under the job's key
        (not when the glossary changed or vanished since the job was queued)."""
        if job.glossary is None:
            return None, True
        glossary = self.glossaries.get_built(job.glossary, job.glossary_id or "")
        if glossary is not None:
            return glossary, True  # no round trip: a cache id names one content
        glossary = await self.glossaries.get(job.glossary)
        return glossary, glossary is not None and glossary.cache_id == job.glossary_id

    async def _finish(self, stream: str, entry_id: bytes, job: Job | None,
                      result: Translation | None, cacheable: bool, give_up_at: float) -> None:
        """Reply, cache and acknowledge in one transaction, retrying while Redis is away.
        After ``give_up_at`` the job is left pending (it is claimed, and found expired)."""
        backoff = self.link.backoff(0.1, 2.0)
        while True:
            pipe = self._redis.pipeline(transaction=True)
            if job is not None and result is not None:
                pipe.xadd(job.reply, pack_reply(job.job_id, result),
                          maxlen=self.reply_maxlen, approximate=True)
                # A gateway node that died leaves no reply stream behind for long.
                pipe.pexpire(job.reply, int(self.reply_ttl_s * 1000))
                if cacheable and result.translated:
                    pipe.set(job.cache_key, pack_cached(result), px=int(self.cache_ttl_s * 1000))
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
                delay = backoff.next()
                log.warning("answering job %s failed (%s); retrying in %.1fs", entry_id, exc,
                            delay)
                await asyncio.sleep(delay)
