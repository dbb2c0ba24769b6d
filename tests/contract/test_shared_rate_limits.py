"""Per-user rate limits shared by every node through Redis (real redis-server): the budget
follows a user to another node, keys expire, and a Redis outage falls back to per-node buckets
instead of blocking anyone."""

from __future__ import annotations

import asyncio

import redis

from babelcast.gateway.limits.rates import MemoryRateLimiter, RedisRateLimiter
from babelcast.gateway.web.auth import RoomTokens
from tests.harness import exhaust_rate_limit, live_server
from tests.redis_server import RedisServer

SECRET = "k" * 40


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


def test_memory_limiter_is_per_process() -> None:
    async def run() -> None:
        a, b = MemoryRateLimiter(0.001, 1), MemoryRateLimiter(0.001, 1)
        assert await a.take(("u",)) and not await a.take(("u",))
        assert await b.take(("u",))

    asyncio.run(run())


def test_rate_limit_follows_the_user_to_another_node(redis_url: str, room: str) -> None:
    tokens = RoomTokens(SECRET)
    settings = {"engine": "none", "redis_url": redis_url, "rate_limit_per_s": 0.001,
                "rate_limit_burst": 3}
    with live_server(**settings, auth="jwt", jwt_secret=SECRET) as a, \
            live_server(**settings, auth="jwt", jwt_secret=SECRET) as b:
        tok = tokens.issue(room, "user-1", "Ana", "viewer", 600).token
        first = a.viewer(room, query=f"lang=en&token={tok}")
        exhaust_rate_limit(first, 3)
        first.close()
        again = b.viewer(room, query=f"lang=en&token={tok}")
        again.send({"type": "ping", "client_id": "on-b"})
        err = again.expect_error()
        assert err["code"] == "rate_limited" and err["client_id"] == "on-b"
        other = b.viewer(room, query="lang=en&token="
                         + tokens.issue(room, "user-2", "Bia", "viewer", 600).token)
        other.send({"type": "ping", "client_id": "ok"})
        assert other.expect(lambda f: f["type"] in ("pong", "error"))["type"] == "pong"


def test_anonymous_rate_limit_follows_address_and_name_to_another_node(
        redis_url: str, room: str) -> None:
    settings = {"engine": "none", "redis_url": redis_url, "rate_limit_per_s": 0.001,
                "rate_limit_burst": 3}
    with live_server(**settings) as a, live_server(**settings) as b:
        first = a.viewer(room, "en", "Ana")
        exhaust_rate_limit(first, 3)
        first.close()
        again = b.viewer(room, "en", "Ana")
        again.send({"type": "ping", "client_id": "x"})
        assert again.expect_error()["code"] == "rate_limited"


def test_translate_budget_of_an_address_is_shared_by_nodes(redis_url: str) -> None:
    settings = {"engine": "none", "redis_url": redis_url, "translate_rate_per_ip": 0.001,
                "translate_burst_per_ip": 2}
    request = {"text": "hello", "source": "en", "targets": ["en"]}
    with live_server(**settings) as a, live_server(**settings) as b:
        assert [a.post("/v1/translate", json=request).status_code for _ in range(2)] == [200, 200]
        r = b.post("/v1/translate", json=request)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
