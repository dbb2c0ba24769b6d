"""Glossaries and room settings in a real Redis: every node (store instance) sees a change at
once, versions are decided atomically, reads survive an outage with the last value seen."""

from __future__ import annotations

import asyncio
import json

import pytest

from babelcast.gateway.bus.redis import BusUnavailable
from babelcast.gateway.chat.room_settings import RoomSettings
from babelcast.gateway.stores.redis import RedisGlossaryStore, RedisRoomSettingsStore
from babelcast.glossary import GlossaryError
from tests.harness import free_port
from tests.redis_server import RedisServer


def body(*terms: str, **mapped: str) -> bytes:
    doc = {"terms": [{"term": t} for t in terms]
           + [{"term": k.replace("_", " "), "translations": {"pt": v}} for k, v in mapped.items()]}
    return json.dumps(doc).encode()


def test_glossaries_are_shared_and_versioned(redis_url: str) -> None:
    async def run() -> None:
        a, b = RedisGlossaryStore(redis_url), RedisGlossaryStore(redis_url)
        await a.start()
        await b.start()
        try:
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
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_concurrent_puts_get_distinct_versions(redis_url: str) -> None:
    async def run() -> None:
        stores = [RedisGlossaryStore(redis_url) for _ in range(4)]
        for s in stores:
            await s.start()
        try:
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
        finally:
            for s in stores:
                await s.close()

    asyncio.run(run())


def test_deleted_and_recreated_glossary_is_rebuilt(redis_url: str) -> None:
    async def run() -> None:
        a, b = RedisGlossaryStore(redis_url), RedisGlossaryStore(redis_url)
        await a.start()
        await b.start()
        try:
            await a.put("brand", body("one"))
            await a.put("brand", body("two"))
            assert (await b.get("brand")).version == 2
            await a.delete("brand")
            await a.put("brand", body("three"))  # starts over at version 1
            again = await b.get("brand")
            assert again is not None and again.version == 1
            assert [t.text for t in again.all_terms] == ["three"]
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


def test_room_settings_are_shared(redis_url: str) -> None:
    async def run() -> None:
        a, b = RedisRoomSettingsStore(redis_url), RedisRoomSettingsStore(redis_url)
        await a.start()
        await b.start()
        try:
            assert await b.get("live") == RoomSettings()
            wanted = RoomSettings(glossary="brand", languages=("pt", "en"))
            await a.put("live", wanted)
            assert await b.get("live") == wanted
            moderated = RoomSettings(blocklist=("cheap pills",), use_default_blocklist=False,
                                     moderation_lang="pt", slow_mode_s=2.5,
                                     max_comments_per_s=40)  # moderation fields (#9)
            await a.put("mod", moderated)
            assert await b.get("mod") == moderated
            assert await b.get("other") == RoomSettings()
            await b.put("live", RoomSettings())  # the defaults remove the entry
            assert await a.get("live") == RoomSettings()
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


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
            server.stop()
            # Degraded mode: the last values this node saw.
            assert await gl.get("brand") == stored
            assert (await rs.get("live")).glossary == "brand"
            with pytest.raises(BusUnavailable, match="unavailable"):
                await gl.put("brand", body("other"))
            with pytest.raises(BusUnavailable, match="unavailable"):
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
            with pytest.raises(BusUnavailable, match=r"cannot reach Redis at redis://127\.0\."):
                await store.start()
            await store.close()

    asyncio.run(run())
