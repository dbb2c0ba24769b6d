"""What both sides of remote translation share: the Redis keys, the job, reply and cache-entry
encodings, how a translator describes its engines, and the ``RedisLink`` protocol through which
both sides are given Redis.

Gateway nodes hand work to translator nodes through Redis. ``client.RemoteTranslator``
(gateway role, no models) stands in for ``TranslationService``: it looks up the shared cache and
queues a job on a Redis Stream in one round trip, and resolves the caller when the reply comes
back on its node's reply stream. ``worker.TranslatorWorker`` (translator role, models loaded)
reads jobs through a consumer group, runs them concurrently through its ``TranslationService``
(so the batcher batches them), writes the reply and the shared cache and acknowledges the job
in one transaction, and claims the jobs of translators that died. A pivot through English whose
two legs run on different translators is chained by the gateway: the first leg's result is the
second leg's job.

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

Redis by injection: this package sits below the gateway and imports nothing of it. Both sides
take a ``RedisLink`` (the protocol below: a client, its URL, its health, and the stream and
retry helpers they use), which the gateway's Redis toolkit implements; the composition root
makes one per component and passes it in.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgpack
import redis.asyncio as aioredis

from babelcast.translation import Engine, Translation

GROUP = "translators"


class Health(Protocol):
    """Whether Redis answers a component: ``degraded`` from a failed call until one succeeds
    (each transition logged once by the implementation)."""

    @property
    def degraded(self) -> bool: ...

    def failed(self, what: str, exc: BaseException) -> bool: ...

    def answered(self) -> bool: ...


class Backoff(Protocol):
    """The delays of one retry loop: ``next`` grows them, ``reset`` starts over."""

    def next(self) -> float: ...

    def reset(self) -> None: ...


class RedisLink(Protocol):
    """One component's Redis connection, with what the remote client and worker use of the
    gateway's Redis toolkit (``babelcast.gateway.redis.RedisLink`` implements it)."""

    @property
    def client(self) -> aioredis.Redis:
        """The redis-py client every command goes through."""
        ...

    @property
    def url(self) -> str:
        """Where it connects, for messages."""
        ...

    @property
    def health(self) -> Health:
        """This component's view of Redis."""
        ...

    async def ping(self) -> None:
        """Raise an error naming the URL and what to do when Redis does not answer."""
        ...

    async def close(self) -> None:
        """Disconnect, if the link made its client."""
        ...

    def block_ms(self, wanted_s: float) -> int:
        """A blocking read's ``BLOCK``, kept under the client's socket timeout."""
        ...

    def backoff(self, first_s: float = 0.1, max_s: float = 1.0) -> Backoff:
        """A new backoff for one retry loop."""
        ...

    async def ensure_group(self, stream: str, group: str) -> None:
        """Make the consumer group (and its stream) if missing."""
        ...

    def is_nogroup(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the consumer group (or its stream) is gone (Redis restarted
        without persistence; ``ensure_group`` makes it again)."""
        ...

    async def latest_id(self, key: str) -> bytes:
        """The newest entry's id of stream ``key`` (``0-0`` when empty): reading after it
        gets every later entry and none before."""
        ...

    def tail(self, key: str, last: bytes, *, wanted_block_s: float = 2.0, count: int = 500,
             backoff: Backoff | None = None, health: Health | None = None,
             running: Callable[[], bool] = lambda: True,
             ) -> AsyncIterator[tuple[bytes, dict[bytes, bytes]]]:
        """Every entry added to stream ``key`` after ``last``, riding out outages."""
        ...

    async def stop_tasks(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        """Cancel the tasks and wait until they have ended."""
        ...


class Keys:
    """The Redis keys of remote translation under ``prefix``."""

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


@dataclass(frozen=True)
class Job:
    """One translation job as it travels on a jobs stream (field ``p``: msgpack list)."""

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

    def pack(self) -> bytes:
        return msgpack.packb([self.job_id, self.text, self.src, self.tgt, self.glossary,
                              self.glossary_id, self.deadline, self.reply, self.cache_key,
                              self.priority])

    @classmethod
    def decode(cls, fields: dict[bytes, bytes]) -> Job:
        """The job of a stream entry's fields; raises ``KeyError``, ``ValueError`` or
        ``TypeError`` for an entry that is not one."""
        job_id, text, src, tgt, gname, gid, deadline, reply, ckey, priority = \
            msgpack.unpackb(fields[b"p"])
        return cls(job_id, text, src, tgt, gname, gid, float(deadline), reply, ckey, priority)


def pack_reply(job_id: str, result: Translation) -> dict[str, Any]:
    """The fields of a reply stream entry for ``job_id``."""
    return {"j": job_id, "r": msgpack.packb(
        [result.text, result.translated, result.reason, result.engine])}


def unpack_reply(fields: dict[bytes, bytes]) -> tuple[str, str, bool, str | None, str | None]:
    """``(job id, text, translated, reason, engine)`` of a reply; raises ``KeyError``,
    ``ValueError`` or ``TypeError`` for an entry that is not one."""
    job_id = fields[b"j"].decode()
    text, translated, reason, engine = msgpack.unpackb(fields[b"r"])
    return job_id, text, translated, reason, engine


def pack_cached(result: Translation) -> bytes:
    """A shared cache entry: the translated text and the engine that made it."""
    return msgpack.packb([result.text, result.engine])


def unpack_cached(raw: bytes) -> tuple[str, str | None]:
    """``(text, engine)`` of a shared cache entry."""
    text, engine = msgpack.unpackb(raw)
    return text, engine
