"""The Redis toolkit's pieces that need no server: backoff delays, the health flag and its
once-per-transition logging, blocking-read sizing, link ownership, stopping tasks, one-attempt
reads with a local answer, following a stream through a failure, recognising a lost consumer
group, and the choice of backend by URL."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from babelcast.gateway import backends
from babelcast.gateway.limits.memory import MemoryRateLimiter
from babelcast.gateway.limits.redis import RedisRateLimiter
from babelcast.gateway.redis import (
    Backoff,
    Health,
    PoolLimits,
    RedisLink,
    blocking_read_ms,
    is_nogroup,
    or_last_known,
    retrying,
    stop_tasks,
    tail,
)
from babelcast.gateway.stores.memory import MemoryGlossaryStore, MemoryRoomSettingsStore
from babelcast.gateway.stores.redis import RedisGlossaryStore, RedisRoomSettingsStore


def test_backoff_doubles_up_to_its_ceiling_and_resets() -> None:
    b = Backoff(0.1, 0.5)
    assert [b.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    b.reset()
    assert b.next() == 0.1
    with pytest.raises(ValueError, match="first_s <= max_s"):
        Backoff(2.0, 1.0)


def test_health_logs_each_transition_once(caplog: pytest.LogCaptureFixture) -> None:
    health = Health("redis://h:1/0", when_down="per node", when_back="shared again")
    with caplog.at_level(logging.WARNING, logger="babelcast.redis"):
        assert health.failed("a check", OSError("refused")) is True
        assert health.failed("a check", OSError("refused")) is False
        assert health.degraded and health.failures == 2 and health.outages == 1
        assert health.answered() is True
        assert health.answered() is False
        assert not health.degraded
    assert [r.getMessage() for r in caplog.records] == [
        "Redis at redis://h:1/0 failed during a check (refused); per node",
        "Redis at redis://h:1/0 is back; shared again",
    ]


def test_blocking_reads_stay_under_the_socket_timeout() -> None:
    plain = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
    assert blocking_read_ms(plain, 2.0) == 2000
    limited = RedisLink("redis://127.0.0.1:1/0",
                        pool=PoolLimits(max_connections=2, socket_timeout_s=1.0))
    assert limited.block_ms(2.0) == 500
    assert blocking_read_ms(plain, 0.0) == 1  # never 0: that would block forever


def test_a_link_closes_only_a_client_it_made() -> None:
    async def run() -> None:
        own = RedisLink("redis://127.0.0.1:1/3")
        assert own.owned and own.url == "redis://127.0.0.1:1/3"
        shared = RedisLink(own.client)
        assert not shared.owned and shared.url == "redis://127.0.0.1:1/3"
        assert shared.health is not own.health
        with pytest.raises(ValueError, match="shared client"):
            RedisLink(own.client, pool=PoolLimits(max_connections=1))
        await shared.close()
        await own.close()

    asyncio.run(run())


def test_stop_tasks_waits_until_they_end() -> None:
    async def run() -> None:
        ended: list[str] = []

        async def reader(name: str) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                ended.append(name)

        tasks = [asyncio.create_task(reader(n)) for n in ("a", "b")]
        await asyncio.sleep(0)
        await stop_tasks(tasks)
        assert sorted(ended) == ["a", "b"] and all(t.cancelled() for t in tasks)

    asyncio.run(run())


def test_backends_are_chosen_by_url() -> None:
    assert isinstance(backends.glossary_store(""), MemoryGlossaryStore)
    assert isinstance(backends.room_settings_store(""), MemoryRoomSettingsStore)
    assert isinstance(backends.rate_limiter("", 1.0, 1, name="user"), MemoryRateLimiter)
    url = "redis://127.0.0.1:1/0"
    assert isinstance(backends.glossary_store(url), RedisGlossaryStore)
    assert isinstance(backends.room_settings_store(url), RedisRoomSettingsStore)
    assert isinstance(backends.rate_limiter(url, 1.0, 1, name="user"), RedisRateLimiter)
    with pytest.raises(ValueError, match="unsupported backend URL 'http://x'"):
        backends.glossary_store("http://x")
    with pytest.raises(ValueError, match="needs a Redis URL"):
        backends.redis_link("")


def test_retrying_rides_out_failures_then_raises_the_callers_error() -> None:
    class Down(RuntimeError):
        pass

    async def run() -> None:
        health = Health("redis://h:1/0")
        attempts = 0

        async def flaky() -> str:
            nonlocal attempts
            attempts += 1
            if attempts < 3:
                raise OSError("refused")
            return "ok"

        fast = Backoff(0.001, 0.002)
        assert await retrying(flaky, what="x", health=health, limit_s=5, backoff=fast) == "ok"
        assert attempts == 3 and health.failures == 2 and not health.degraded

        async def down() -> str:
            raise OSError("refused")

        with pytest.raises(Down, match=r"Redis at redis://h:1/0 unreachable for 0s \(publish\)"):
            await retrying(down, what="publish", health=health, limit_s=0.01,
                           backoff=Backoff(0.001, 0.002), error=Down)
        assert health.degraded

    asyncio.run(run())


def test_or_last_known_answers_locally_and_tries_nothing_while_degraded() -> None:
    async def run() -> None:
        health = Health("redis://h:1/0")
        attempts = 0
        up = False

        async def read() -> str:
            nonlocal attempts
            attempts += 1
            if not up:
                raise OSError("refused")
            return "shared"

        assert await or_last_known(read, lambda: "local", what="viewers",
                                   health=health) == "local"
        assert attempts == 1 and health.degraded
        up = True
        # Degraded: answered locally without an attempt, until another call finds Redis back.
        assert await or_last_known(read, lambda: "local", what="viewers",
                                   health=health) == "local"
        assert attempts == 1
        health.answered()
        assert await or_last_known(read, lambda: "local", what="viewers",
                                   health=health) == "shared"
        assert attempts == 2 and not health.degraded

    asyncio.run(run())


class _FlakyStream:
    """A client whose first ``XREAD`` fails and whose later ones return one entry each."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []

    async def xread(self, streams: dict[str, bytes], *, block: int,
                    count: int) -> list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]:
        (last,) = streams.values()
        self.reads.append(last)
        if len(self.reads) == 1:
            raise OSError("connection reset")
        n = len(self.reads)
        return [(b"ev", [(f"{n}-0".encode(), {b"n": str(n).encode()})])]


def test_tail_resumes_after_a_failed_read_before_reading_again() -> None:
    async def run() -> None:
        client = _FlakyStream()
        order: list[str] = []

        async def resume() -> None:
            order.append(f"resume before read {len(client.reads) + 1}")

        got = []
        entries = tail(client, "ev", b"1-0", block_ms=1,  # type: ignore[arg-type]
                       backoff=Backoff(0.001, 0.002), resume=resume)
        async for entry_id, fields in entries:
            got.append((entry_id, fields))
            if len(got) == 2:
                break
        assert order == ["resume before read 2"]  # once, after the failure only
        assert got == [(b"2-0", {b"n": b"2"}), (b"3-0", {b"n": b"3"})]
        assert client.reads == [b"1-0", b"1-0", b"2-0"]  # each read after the last entry

    asyncio.run(run())


def test_a_lost_consumer_group_is_recognised() -> None:
    assert is_nogroup(ResponseError("NOGROUP No such key 'jobs' or consumer group"))
    assert not is_nogroup(ResponseError("BUSYGROUP Consumer Group name already exists"))
    assert not is_nogroup(OSError("NOGROUP"))
    assert RedisLink.is_nogroup(ResponseError("NOGROUP gone"))
