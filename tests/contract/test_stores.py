"""The store seams (``GlossaryStore``, ``RoomSettingsStore``, ``IdempotencyStore``), one suite
run against both implementations: in memory and in a real Redis. Several "nodes" of a store
share their data (in memory: one process, one store; on Redis: one store per node on one
Redis), versions are decided atomically; on Redis, reads survive an outage with the last value
seen and writes fail clearly."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from babelcast.gateway.stores.base import (
    GlossaryStore,
    IdempotencyRecord,
    IdempotencyStore,
    RoomSettings,
    RoomSettingsStore,
    StoreUnavailable,
)
from babelcast.gateway.stores.memory import (
    MemoryGlossaryStore,
    MemoryIdempotencyStore,
    MemoryRoomSettingsStore,
)
from babelcast.gateway.stores.redis import (
    RedisGlossaryStore,
    RedisIdempotencyStore,
    RedisRoomSettingsStore,
)
from babelcast.glossary import GlossaryError
from tests.harness import free_port
from tests.redis_server import RedisServer


def body(*terms: str, **mapped: str) -> bytes:
    doc = {"terms": [{"term": t} for t in terms]
           + [{"term": k.replace("_", " "), "translations": {"pt": v}} for k, v in mapped.items()]}
    return json.dumps(doc).encode()


class Backend:
    """Makes the stores of ``n`` nodes that share one backend: in memory, one store (a
    process is one node); on Redis, a store per node."""

    def __init__(self, kind: str, url: str = "") -> None:
        self.kind = kind
        self.url = url

    def glossaries(self, n: int) -> list[GlossaryStore]:
        if self.kind == "memory":
            return [MemoryGlossaryStore()] * n
        return [RedisGlossaryStore(self.url) for _ in range(n)]

    def room_settings(self, n: int) -> list[RoomSettingsStore]:
        if self.kind == "memory":
            return [MemoryRoomSettingsStore()] * n
        return [RedisRoomSettingsStore(self.url) for _ in range(n)]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return Backend("memory")
    return Backend("redis", request.getfixturevalue("redis_url"))


@contextlib.asynccontextmanager
async def started(make: Callable[[int], list[Any]], n: int) -> AsyncIterator[list[Any]]:
    stores = make(n)
    for s in stores:
        await s.start()
    try:
        yield stores
    finally:
        for s in stores:
            await s.close()


def test_glossaries_are_shared_and_versioned(backend: Backend) -> None:
    async def run() -> None:
        async with started(backend.glossaries, 2) as (a, b):
            g1, created = await a.put("brand", body("Pink Friday Nails", lip_gloss="gloss labial"))
            assert created and g1.version == 1
            seen = await b.get("brand")
            assert seen is not None and seen.cache_id == g1.cache_id
            assert [t.text for t in seen.all_terms] == ["Pink Friday Nails", "lip gloss"]
            # Built once: the same object while the version is unchanged.
            assert await b.get("brand") is seen

            same, created = await b.put("brand", body("Pink Friday Nails",
                                                      lip_gloss="gloss labial"))
            assert not created and same.version == 1  # unchanged content keeps its version

            g2, created = await b.put("brand", body("Velvet Matte"))
            assert not created and g2.version == 2
            now = await a.get("brand")
            assert now is not None and now.version == 2 and now.cache_id == g2.cache_id
            assert [t.text for t in now.all_terms] == ["Velvet Matte"]

            await a.put("other", body("Zeta"))
            assert [(g.name, g.version) for g in await b.names()] == [("brand", 2), ("other", 1)]

            assert await b.delete("brand") is True
            assert await a.get("brand") is None
            assert await a.delete("brand") is False
            assert [g.name for g in await a.names()] == ["other"]

            with pytest.raises(GlossaryError):
                await a.put("bad", b"{not json")
            assert await b.get("bad") is None

    asyncio.run(run())


def test_a_built_glossary_is_found_by_its_cache_id(backend: Backend) -> None:
    async def run() -> None:
        async with started(backend.glossaries, 1) as (store,):
            assert store.get_built("brand", "anything") is None
            g1, _ = await store.put("brand", body("one"))
            assert store.get_built("brand", g1.cache_id) == g1
            g2, _ = await store.put("brand", body("two"))
            assert store.get_built("brand", g1.cache_id) is None  # another version now
            assert store.get_built("brand", g2.cache_id) == g2

    asyncio.run(run())


def test_concurrent_puts_get_distinct_versions(backend: Backend) -> None:
    async def run() -> None:
        async with started(backend.glossaries, 4) as stores:
            await stores[0].put("brand", body("base"))
            results = await asyncio.gather(*(s.put("brand", body(f"term {i}"))
                                             for i, s in enumerate(stores)))
            versions = sorted(g.version for g, _created in results)
            assert versions == [2, 3, 4, 5]
            latest = await stores[0].get("brand")
            winner = next(g for g, _ in results if g.version == 5)
            assert latest is not None and latest.cache_id == winner.cache_id
            # Two nodes creating the same new glossary at once: one creates it.
            created = await asyncio.gather(*(s.put("fresh", body("x")) for s in stores[:2]))
            assert sorted(c for _, c in created) == [False, True]
            assert {g.version for g, _ in created} == {1}

    asyncio.run(run())


def test_deleted_and_recreated_glossary_is_rebuilt(backend: Backend) -> None:
    async def run() -> None:
        async with started(backend.glossaries, 2) as (a, b):
            await a.put("brand", body("one"))
            await a.put("brand", body("two"))
            assert (await b.get("brand")).version == 2
            await a.delete("brand")
            await a.put("brand", body("three"))  # starts over at version 1
            again = await b.get("brand")
            assert again is not None and again.version == 1
            assert [t.text for t in again.all_terms] == ["three"]

    asyncio.run(run())


def test_room_settings_are_shared(backend: Backend) -> None:
    async def run() -> None:
        async with started(backend.room_settings, 2) as (a, b):
            assert await b.get("live") == RoomSettings()
            wanted = RoomSettings(glossary="brand", languages=("pt", "en"))
            await a.put("live", wanted)
            assert await b.get("live") == wanted
            moderated = RoomSettings(blocklist=("cheap pills",), use_default_blocklist=False,
                                     moderation_lang="pt", slow_mode_s=2.5,
                                     max_comments_per_s=40)  # the moderation fields
            await a.put("mod", moderated)
            assert await b.get("mod") == moderated
            assert await b.get("other") == RoomSettings()
            await b.put("live", RoomSettings())  # the defaults remove the entry
            assert await a.get("live") == RoomSettings()

    asyncio.run(run())


def test_room_settings_before_moderation_read_with_its_defaults() -> None:
    # A shared store may hold entries written before the moderation fields existed.
    old = RoomSettings.from_list(["brand", ["pt"]])
    assert old == RoomSettings(glossary="brand", languages=("pt",))
    full = RoomSettings(glossary=None, languages=(), blocklist=("x",), slow_mode_s=1.5)
    assert RoomSettings.from_list(full.to_list()) == full


# --- Redis only: outages --------------------------------------------------------------------


def test_reads_survive_an_outage_and_writes_fail_clearly() -> None:
    server = RedisServer().start()

    async def run() -> None:
        gl, rs = RedisGlossaryStore(server.url), RedisRoomSettingsStore(server.url)
        await gl.start()
        await rs.start()
        try:
            stored, _ = await gl.put("brand", body("Pink Friday Nails"))
            await rs.put("live", RoomSettings(glossary="brand"))
            assert (await gl.get("brand")) == stored
            assert (await rs.get("live")).glossary == "brand"
            assert not gl.degraded and not rs.degraded
            server.stop()
            # Degraded mode: the last values this node saw.
            assert await gl.get("brand") == stored
            assert (await rs.get("live")).glossary == "brand"
            assert gl.degraded and rs.degraded
            with pytest.raises(StoreUnavailable, match="unavailable"):
                await gl.put("brand", body("other"))
            with pytest.raises(StoreUnavailable, match="unavailable"):
                await rs.put("live", RoomSettings())
        finally:
            await gl.close()
            await rs.close()

    try:
        asyncio.run(run())
    finally:
        server.stop()


def test_unreachable_redis_is_a_clear_start_up_error() -> None:
    async def run() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"
        for store in (RedisGlossaryStore(url), RedisRoomSettingsStore(url)):
            with pytest.raises(StoreUnavailable, match=r"cannot reach Redis at redis://127\.0\."):
                await store.start()
            await store.close()

    asyncio.run(run())


def idempotency(backend: Backend, n: int, ttl_s: float = 60.0) -> list[IdempotencyStore]:
    """The idempotency keys of ``n`` nodes sharing ``backend``."""
    if backend.kind == "memory":
        return [MemoryIdempotencyStore(ttl_s)] * n
    return [RedisIdempotencyStore(backend.url, ttl_s=ttl_s) for _ in range(n)]


def test_an_idempotency_key_is_claimed_once_and_answers_every_node(backend: Backend) -> None:
    async def run() -> None:
        a, b = idempotency(backend, 2)
        await a.start()
        await b.start()
        try:
            assert await a.claim("r1", "k", "fp") is None
            assert await b.claim("r1", "k", "fp") == IdempotencyRecord("fp", None)  # in flight
            assert await b.claim("r2", "k", "fp") is None  # another room, another key
            await a.settle("r1", "k", "fp", '{"id": "7"}')
            assert await b.claim("r1", "k", "other") == IdempotencyRecord("fp", '{"id": "7"}')
            assert await a.claim("r1", "k2", "fp") is None
            await a.release("r1", "k2")  # the call failed: a retry holds the key anew
            assert await b.claim("r1", "k2", "fp2") is None
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_an_idempotency_key_expires(backend: Backend) -> None:
    async def run() -> None:
        if backend.kind == "memory":
            now = [0.0]
            store: IdempotencyStore = MemoryIdempotencyStore(10.0, clock=lambda: now[0])
            assert await store.claim("r", "k", "fp") is None
            now[0] = 11.0
        else:
            store = RedisIdempotencyStore(backend.url, ttl_s=0.05)
            await store.start()
            assert await store.claim("r", "k", "fp") is None
            while await store._redis.exists(store._key("r", "k")):  # Redis expires it
                await asyncio.sleep(0.01)
        try:
            assert await store.claim("r", "k", "fp") is None
        finally:
            await store.close()

    asyncio.run(run())


def test_memory_idempotency_keys_are_bounded() -> None:
    async def run() -> None:
        store = MemoryIdempotencyStore(60.0, max_keys=3)
        for i in range(5):
            assert await store.claim("r", f"k{i}", "fp") is None
        assert await store.claim("r", "k4", "fp") is not None  # the newest are kept
        assert await store.claim("r", "k0", "fp") is None  # the oldest were dropped

    asyncio.run(run())
