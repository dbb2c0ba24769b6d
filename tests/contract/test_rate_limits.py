"""The ``RateLimiter`` seam, one suite run against both implementations (memory and a real
Redis): a bucket per key, bursts then refusals. Then what only one of them does: Redis
limiters on several nodes spend one bucket, keys expire, and a Redis outage or burst falls back
to per-node buckets instead of blocking anyone; memory limiters are per process."""

from __future__ import annotations

import asyncio

import pytest
import redis

from babelcast.gateway.limits.base import RateLimiter
from babelcast.gateway.limits.memory import MemoryRateLimiter
from babelcast.gateway.limits.redis import RedisRateLimiter
from tests.redis_server import RedisServer


class Limiters:
    """Makes limiters of one kind (memory, or Redis at ``url``)."""

    def __init__(self, kind: str, url: str = "") -> None:
        self.kind = kind
        self.url = url

    def make(self, rate: float, burst: int, name: str = "user") -> RateLimiter:
        if self.kind == "memory":
            return MemoryRateLimiter(rate, burst)
        return RedisRateLimiter(self.url, rate=rate, burst=burst, name=name)


@pytest.fixture(params=["memory", "redis"])
def limiters(request: pytest.FixtureRequest) -> Limiters:
    if request.param == "memory":
        return Limiters("memory")
    return Limiters("redis", request.getfixturevalue("redis_url"))


def test_a_key_gets_its_burst_then_is_refused(limiters: Limiters) -> None:
    async def run() -> None:
        limiter = limiters.make(rate=0.001, burst=3)
        try:
            user = ("user", "room", "u-1")
            assert [await limiter.take(user) for _ in range(4)] == [True, True, True, False]
            assert await limiter.take(("user", "room", "u-2"))  # another user, its own bucket
            assert not limiter.degraded
        finally:
            await limiter.close()

    asyncio.run(run())


def test_tokens_come_back_at_the_rate(limiters: Limiters) -> None:
    async def run() -> None:
        limiter = limiters.make(rate=50.0, burst=1)
        try:
            assert await limiter.take(("u",)) and not await limiter.take(("u",))
            for _ in range(200):  # 20 ms per token; bounded by the loop, not a fixed sleep
                if await limiter.take(("u",)):
                    break
                await asyncio.sleep(0.005)
            else:
                raise AssertionError("no token came back within a second at 50 per second")
        finally:
            await limiter.close()

    asyncio.run(run())


# --- Redis: shared by nodes ----------------------------------------------------------------


def test_nodes_spend_one_bucket_and_keys_expire(redis_url: str) -> None:
    async def run() -> None:
        a = RedisRateLimiter(redis_url, rate=0.001, burst=3, name="user")
        b = RedisRateLimiter(redis_url, rate=0.001, burst=3, name="user")
        other = RedisRateLimiter(redis_url, rate=0.001, burst=3, name="translate")
        try:
            user = ("user", "room", "u-1")
            taken = [await a.take(user), await b.take(user), await a.take(user),
                     await b.take(user)]
            assert taken == [True, True, True, False]
            assert await a.take(("user", "room", "u-2"))  # another user, its own bucket
            assert await other.take(user)  # another limiter's budget is separate
            ttl = redis.Redis.from_url(redis_url).pttl(a.key(user))
            # Empty bucket: it expires once full again (3 tokens at 0.001/s), not before.
            assert 3_000_000 < ttl <= 3_001_000
            assert not a.degraded
        finally:
            for limiter in (a, b, other):
                await limiter.close()

    asyncio.run(run())


def test_a_burst_beyond_the_checks_in_flight_uses_the_nodes_bucket(redis_url: str) -> None:
    async def run() -> None:
        limiter = RedisRateLimiter(redis_url, rate=0.001, burst=1, name="user", max_in_flight=1)
        try:
            # The first check waits on Redis; the second, meanwhile, does not queue behind it.
            first, second = await asyncio.gather(limiter.take(("a",)), limiter.take(("b",)))
            assert first and second and limiter.busy == 1 and not limiter.degraded
            # The shared bucket of "a" is spent; "b" spent only the node's.
            assert not await limiter.take(("a",)) and await limiter.take(("b",))
        finally:
            await limiter.close()

    asyncio.run(run())


def test_keys_do_not_collide_on_separators() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", 1.0, 1, name="user")
    assert (limiter.key(("anonymous", "r", "::1", "a:b"))
            != limiter.key(("anonymous", "r", "::1:a", "b")))


def test_a_redis_outage_falls_back_to_this_nodes_bucket() -> None:
    server = RedisServer(durable=True).start()  # a restart keeps the buckets

    async def run() -> None:
        limiter = RedisRateLimiter(server.url, rate=0.001, burst=2, name="user", retry_s=0.0)
        try:
            assert await limiter.take(("u",)) and not limiter.degraded
            server.halt()
            # Redis is away: the node's own bucket (full) decides; nobody is blocked forever.
            assert [await limiter.take(("u",)) for _ in range(3)] == [True, True, False]
            assert limiter.degraded
            assert limiter.health.outages == 1 and limiter.health.failures == 3
            server.start()
            # Back: the shared bucket (one token left) decides again.
            assert [await limiter.take(("u",)) for _ in range(2)] == [True, False]
            assert not limiter.degraded
        finally:
            await limiter.close()

    try:
        asyncio.run(run())
    finally:
        server.stop()


# --- memory: per process -------------------------------------------------------------------


def test_memory_limiter_is_per_process() -> None:
    async def run() -> None:
        a, b = MemoryRateLimiter(0.001, 1), MemoryRateLimiter(0.001, 1)
        assert await a.take(("u",)) and not await a.take(("u",))
        assert await b.take(("u",))

    asyncio.run(run())
