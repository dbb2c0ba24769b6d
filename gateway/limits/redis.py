"""``RedisRateLimiter``: the ``RateLimiter`` seam with buckets in Redis, so every node spends
the same bucket: a user who reconnects to another node is still limited. Its keys (``{p}`` is
the key prefix shared with ``RedisBus``):

- ``{p}:rl:{name}:{digest}``  hash ``tokens``, ``ts`` (Redis' clock), expiring once the
                              bucket would be full again (a fresh bucket is the same thing)

Degraded mode: when Redis does not answer within ``timeout_s`` the limiter falls back to a
bucket of this node's own (the limit holds per node, as without Redis) and tries Redis again
after ``retry_s``. A Redis outage therefore never blocks or refuses frames by itself. Likewise,
when ``max_in_flight`` checks are already waiting on Redis (a burst), a further check uses the
node's bucket at once instead of queueing behind them (counted in ``busy``). The state is the
toolkit's ``Health`` (``degraded``; one log line when Redis fails, one when it is back).
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import msgpack
from redis.exceptions import RedisError

from babelcast.gateway.limits.base import RateKey
from babelcast.gateway.limits.memory import MemoryRateLimiter
from babelcast.gateway.redis import Health, PoolLimits, RedisLink

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


class RedisRateLimiter:
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
        self.busy = 0  # checks answered by the node's bucket because Redis had enough queued
        self.health = Health(url, when_down="limits are per node until it is back",
                             when_back=f"{name} rate limits are shared again")
        # Short timeouts and its own pool: a frame must not wait on a hung Redis for long.
        self.link = RedisLink(url, health=self.health, pool=PoolLimits(
            max_connections=max_in_flight, wait_s=timeout_s, socket_timeout_s=timeout_s,
            connect_timeout_s=timeout_s))
        self._slots = asyncio.Semaphore(max_in_flight)
        self._take = self.link.client.register_script(_TAKE)
        self._local = MemoryRateLimiter(rate, burst)  # while Redis is away
        self._retry_at = 0.0

    def key(self, key: RateKey) -> str:
        """The Redis key of ``key``'s bucket: a digest, so names and addresses of any length
        and content make fixed, unambiguous keys."""
        digest = hashlib.blake2b(msgpack.packb(list(key)), digest_size=16).hexdigest()
        return f"{self.prefix}:rl:{self.name}:{digest}"

    @property
    def degraded(self) -> bool:
        """Whether Redis failed the last check (buckets are this node's own until it is back)."""
        return self.health.degraded

    async def take(self, key: RateKey) -> bool:
        """Spend one of ``key``'s tokens if it has one: in Redis, or in this node's bucket
        while Redis is away or busy."""
        now = time.monotonic()
        if self.health.degraded and now < self._retry_at:
            return await self._local.take(key)
        if self._slots.locked():
            self.busy += 1
            return await self._local.take(key)
        try:
            async with self._slots:
                ok = await self._take(keys=[self.key(key)], args=[self.rate, self.burst])
        except (RedisError, OSError) as exc:
            self.health.failed(f"a {self.name} rate-limit check", exc)
            self._retry_at = now + self.retry_s
            return await self._local.take(key)
        self.health.answered()
        return bool(ok)

    async def close(self) -> None:
        """Disconnect (the pool is this limiter's own)."""
        await self.link.close()
