"""``RedisLink``: one component's Redis connection, made from a URL or around a shared client.

A link made from a URL owns its client (``close`` disconnects); one made around a client that
another part created does not (its creator closes it). ``ping`` is the start-up check: it
raises ``RedisUnavailable`` with the URL and what to do. ``PoolLimits`` gives a link a
blocking pool of its own (a burst waits for a free connection instead of failing with "Too
many connections"; short timeouts where a caller must not wait on a hung Redis).

The link also carries the component's ``Health`` and the toolkit's helpers as methods
(``block_ms``, ``backoff``, ``ensure_group``, ``is_nogroup``, ``latest_id``, ``tail``,
``stop_tasks``), so code that cannot
import the gateway (``translation.remote``) gets all of it by being handed one link.

    link = RedisLink("redis://127.0.0.1:6379/0")
    await link.ping()                      # RedisUnavailable("cannot reach Redis at ...")
    await link.client.set("k", "v")
    await link.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from babelcast.gateway.redis import streams
from babelcast.gateway.redis.backoff import Backoff
from babelcast.gateway.redis.health import Health


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached; the message names the URL and what to do."""


@dataclass(frozen=True)
class PoolLimits:
    """A blocking connection pool of the link's own: at most ``max_connections``; a caller
    waits up to ``wait_s`` for a free one; ``socket_timeout_s`` bounds each command and
    ``connect_timeout_s`` what an unreachable (not refusing) Redis costs a call. ``None``:
    redis-py's default."""

    max_connections: int
    wait_s: float | None = None
    socket_timeout_s: float | None = None
    connect_timeout_s: float | None = None

    def pool(self, url: str) -> aioredis.BlockingConnectionPool:
        """The pool for ``url`` with these limits."""
        options: dict[str, Any] = {"max_connections": self.max_connections}
        for name, value in (("timeout", self.wait_s), ("socket_timeout", self.socket_timeout_s),
                            ("socket_connect_timeout", self.connect_timeout_s)):
            if value is not None:
                options[name] = value
        return aioredis.BlockingConnectionPool.from_url(url, **options)


def url_of(client: aioredis.Redis) -> str:
    """A URL naming where ``client`` connects, for messages (no password in it)."""
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


class RedisLink:
    """A Redis client with the URL to name in messages, whether it is this link's to close,
    and the component's ``Health``.

    ``target`` is a URL (a new client, owned) or a shared client (not owned). ``pool`` (URL
    only) gives the link a blocking pool with those limits; without it the client is redis-py's
    default for the URL. ``health`` defaults to a ``Health`` for this URL."""

    def __init__(self, target: str | aioredis.Redis, *, pool: PoolLimits | None = None,
                 health: Health | None = None) -> None:
        if isinstance(target, str):
            self.client: aioredis.Redis = (
                aioredis.Redis.from_url(target) if pool is None
                else aioredis.Redis(connection_pool=pool.pool(target)))
            self.url = target
            self.owned = True
        else:
            if pool is not None:
                raise ValueError("pool limits apply to a link's own client; a shared client "
                                 "keeps the pool its creator gave it")
            self.client = target
            self.url = url_of(target)
            self.owned = False
        self.health = health or Health(self.url)

    def shared(self, *, health: Health | None = None) -> RedisLink:
        """Another link on this link's client (not owned: closing it leaves the client open),
        with a ``Health`` of its own."""
        link = RedisLink(self.client, health=health)
        link.url = self.url
        return link

    async def ping(self) -> None:
        """Check that Redis answers; raises ``RedisUnavailable`` naming the URL and what to
        do when it does not."""
        try:
            await self.client.ping()
        except (RedisError, OSError) as exc:
            raise RedisUnavailable(f"cannot reach Redis at {self.url}: {exc}; start "
                                   "redis-server or fix --redis-url") from exc

    async def close(self) -> None:
        """Disconnect, if this link made the client (a shared one is its creator's)."""
        if self.owned:
            await self.client.aclose(close_connection_pool=True)

    # --- the toolkit's helpers, on this link's client ----------------------------------

    def block_ms(self, wanted_s: float) -> int:
        """``blocking_read_ms`` for this link's client."""
        return streams.blocking_read_ms(self.client, wanted_s)

    def backoff(self, first_s: float = 0.1, max_s: float = 1.0) -> Backoff:
        """A new ``Backoff`` (one per retry loop)."""
        return Backoff(first_s, max_s)

    async def ensure_group(self, stream: str, group: str) -> None:
        """``ensure_group`` on this link's client."""
        await streams.ensure_group(self.client, stream, group)

    @staticmethod
    def is_nogroup(exc: BaseException) -> bool:
        """``is_nogroup``: whether ``exc`` says the consumer group (or its stream) is gone."""
        return streams.is_nogroup(exc)

    async def latest_id(self, key: str) -> bytes:
        """``latest_id`` on this link's client: where to start reading stream ``key``."""
        return await streams.latest_id(self.client, key)

    def tail(self, key: str, last: bytes, *, wanted_block_s: float = 2.0, count: int = 500,
             backoff: Backoff | None = None, health: Health | None = None,
             running: Callable[[], bool] = lambda: True,
             resume: Callable[[], Awaitable[object]] | None = None,
             ) -> AsyncIterator[tuple[bytes, dict[bytes, bytes]]]:
        """``tail`` on this link's client; ``health`` defaults to none (a reader's failures
        are retried, not reported), pass ``link.health`` to have them count."""
        return streams.tail(self.client, key, last, block_ms=self.block_ms(wanted_block_s),
                            count=count, backoff=backoff, health=health, running=running,
                            resume=resume)

    async def stop_tasks(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        """``stop_tasks``: cancel ``tasks`` (this link's readers) and wait until they end."""
        await streams.stop_tasks(tasks)
