"""The ``RateLimiter`` seam: token buckets by key (a user, an address) that callers spend.

``MemoryRateLimiter`` keeps the buckets in this process (one node). ``RedisRateLimiter`` keeps
them in Redis, so every node spends the same bucket: a user who reconnects to another node
is still limited. Its keys (``{p}`` is the key prefix shared with ``RedisBus``):

- ``{p}:rl:{name}:{digest}``  hash ``tokens``, ``ts`` (Redis' clock), expiring once the
                              bucket would be full again (a fresh bucket is the same thing)

Degraded mode: when Redis does not answer within ``timeout_s`` the limiter falls back to a
bucket of this node's own (the limit holds per node, as without Redis) and tries Redis again
after ``retry_s``. A Redis outage therefore never blocks or refuses frames by itself. Likewise,
when ``max_in_flight`` checks are already waiting on Redis (a burst), a further check uses the
node's bucket at once instead of queueing behind them (counted in ``busy``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from abc import ABC, abstractmethod

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from babelcast.gateway.limits.admission import RateBuckets

log = logging.getLogger("babelcast.redis")

RateKey = tuple[str, ...]

# One token from bucket KEYS[1]: ARGV rate per second, burst. Time is Redis' own, so nodes
# with skewed clocks refill a bucket alike. Returns 1 when a token was spent, else 0.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if not tokens then tokens, ts = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local ok = 0
if tokens >= 1 then tokens, ok = tokens - 1, 1 end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return ok
"""


class RateLimiter(ABC):
    """``rate`` tokens per second per key, with bursts of ``burst``."""

    rate: float
    burst: int
    degraded: bool = False  # the shared store is failing; buckets are this node's own

    @abstractmethod
    async def take(self, key: RateKey) -> bool:
        """Spend one of ``key``'s tokens if it has one."""

    async def close(self) -> None:  # noqa: B027 - optional hook, no-op in memory
        """Release connections."""


class MemoryRateLimiter(RateLimiter):
    """Buckets in this process (``RateBuckets`` on the monotonic clock)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets = RateBuckets(rate, burst)

    async def take(self, key: RateKey) -> bool:
        return self._buckets.take(key, time.monotonic())


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis shared by every node; ``name`` separates limiters on one Redis."""

    def __init__(self, url: str, rate: float, burst: int, *, name: str, prefix: str = "bc",
                 timeout_s: float = 0.25, retry_s: float = 1.0,
                 max_in_flight: int = 64) -> None:
        self.url = url
        self.rate = rate
        self.burst = burst
        self.name = name
        self.prefix = prefix
        self.retry_s = retry_s
        self.degraded = False
        self.busy = 0  # checks answered by the node's bucket because Redis had enough queued
        # Short timeouts and its own pool: a frame must not wait on a hung Redis for long.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_in_flight, timeout=timeout_s, socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._take = self._redis.register_script(_TAKE)
        self._local = MemoryRateLimiter(rate, burst)  # while Redis is away
        self._retry_at = 0.0

    def key(self, key: RateKey) -> str:
        """The Redis key of ``key``'s bucket: a digest, so names and addresses of any length
        and content make fixed, unambiguous keys."""
        digest = hashlib.blake2b(msgpack.packb(list(key)), digest_size=16).hexdigest()
        return f"{self.prefix}:rl:{self.name}:{digest}"

    async def take(self, key: RateKey) -> bool:
        now = time.monotonic()
        if self.degraded and now < self._retry_at:
            return await self._local.take(key)
        if self._slots.locked():
            self.busy += 1
            return await self._local.take(key)
        try:
            async with self._slots:
                ok = await self._take(keys=[self.key(key)], args=[self.rate, self.burst])
        except (RedisError, OSError) as exc:
            if not self.degraded:
                log.warning("Redis at %s failed during a %s rate-limit check (%s); limits are "
                            "per node until it is back", self.url, self.name, exc)
            self.degraded = True
            self._retry_at = now + self.retry_s
            return await self._local.take(key)
        if self.degraded:
            log.warning("Redis at %s is back; %s rate limits are shared again", self.url,
                        self.name)
            self.degraded = False
        return bool(ok)

    async def close(self) -> None:
        await self._redis.aclose(close_connection_pool=True)


def rate_limiter(redis_url: str, rate: float, burst: int, *, name: str) -> RateLimiter:
    """The limiter for a process: shared through Redis when ``redis_url`` is set."""
    if redis_url:
        return RedisRateLimiter(redis_url, rate, burst, name=name)
    return MemoryRateLimiter(rate, burst)
