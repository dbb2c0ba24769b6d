"""``TranslationFront`` over two fake back ends shaped like the real ones: one runs a whole
route as one unit (as the local batcher does), the other one unit per hop (as the Redis job
queue does). Routing, caching and coalescing must come out the same over both."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from babelcast.glossary import Glossary
from babelcast.translation import ENGINE_ERROR, NO_ROUTE, NO_TRANSLATOR, Translation
from babelcast.translation.front import FrontStats, TranslationFront
from babelcast.translation.router import Route, Router

pytestmark = pytest.mark.unit


class PairEngine:
    def __init__(self, name: str, *pairs: tuple[str, str]) -> None:
        self.name = name
        self.pairs = set(pairs)

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in self.pairs

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        raise AssertionError("the front never calls an engine")


ENGINES = [PairEngine("ko-en", ("ko", "en")), PairEngine("en-pt", ("en", "pt"))]


class FakeBackend:
    """Answers each submitted unit on the next loop iteration (``fail``: untranslated)."""

    per_hop = False

    def __init__(self) -> None:
        self.stats = FrontStats()
        self.router = Router(ENGINES)
        self.submitted: list[tuple[str, str]] = []  # (unit, text)
        self.down = False
        self.fail = False
        self.closed = False

    def unavailable(self) -> str | None:
        return NO_TRANSLATOR if self.down else None

    def units(self, route: Route) -> Sequence[Route]:
        return tuple(Route((hop,)) for hop in route.hops) if self.per_hop else (route,)

    def submit(self, unit: Route, text: str, glossary: Glossary | None,
               priority: int | None, deadline: float) -> asyncio.Future[Translation]:
        self.submitted.append((unit.name, text))
        tgt = unit.hops[-1][2]
        result = (Translation(tgt, text, False, ENGINE_ERROR, unit.name) if self.fail
                  else Translation(tgt, f"{text}|{unit.name}", True, None, unit.name))
        future: asyncio.Future[Translation] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, result)
        return future

    async def join(self, future: asyncio.Future[Translation], unit: Route, text: str,
                   deadline: float) -> Translation:
        return await asyncio.shield(future)

    def snapshot(self) -> dict[str, Any]:
        return {"submitted": len(self.submitted)}

    async def start(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.close()


class PerHopBackend(FakeBackend):
    per_hop = True


@pytest.fixture(params=[FakeBackend, PerHopBackend], ids=["whole-route", "per-hop"])
def backend(request: pytest.FixtureRequest) -> FakeBackend:
    return request.param()


def test_identical_requests_share_one_unit_then_hit_the_cache(backend: FakeBackend) -> None:
    front = TranslationFront(backend)

    async def run() -> None:
        results = await asyncio.gather(*(front.translate_one("hi", "en", "pt")
                                         for _ in range(3)))
        assert results == [Translation("pt", "hi|en-pt(en->pt)", True, None,
                                       "en-pt(en->pt)")] * 3
        assert backend.submitted == [("en-pt(en->pt)", "hi")]
        assert front.stats.requests == 3 and front.stats.coalesced == 2
        again = await front.translate_one("hi", "en", "pt")
        assert again == results[0] and len(backend.submitted) == 1
        assert front.cache.stats.hits == 1
        await front.drain()

    asyncio.run(run())
    snap = front.snapshot()
    assert snap["requests"] == 4 and snap["coalesced"] == 2 and snap["cache_hits"] == 1
    assert snap["cache_entries"] == 1 and snap["submitted"] == 1


def test_a_pivot_is_one_unit_or_one_per_hop_as_the_back_end_says(backend: FakeBackend) -> None:
    front = TranslationFront(backend)

    async def run() -> tuple[Translation, Translation]:
        first = await front.translate_one("안녕", "ko", "pt")
        return first, await front.translate_one("안녕", "ko", "pt")

    first, again = asyncio.run(run())
    assert first.translated and first.lang == "pt"
    assert first.engine == "ko-en(ko->en) > en-pt(en->pt)"
    assert again == first  # from the cache: nothing submitted the second time
    if backend.per_hop:
        assert backend.submitted == [("ko-en(ko->en)", "안녕"),
                                     ("en-pt(en->pt)", "안녕|ko-en(ko->en)")]
        assert first.text == "안녕|ko-en(ko->en)|en-pt(en->pt)" and len(front.cache) == 2
    else:
        assert backend.submitted == [("ko-en(ko->en) > en-pt(en->pt)", "안녕")]
        assert len(front.cache) == 1


def test_failures_pass_the_original_through_and_are_not_cached(backend: FakeBackend) -> None:
    front = TranslationFront(backend)
    backend.fail = True

    async def run() -> None:
        for _ in range(2):
            t = await front.translate_one("안녕", "ko", "pt")
            assert t == Translation("pt", "안녕", False, ENGINE_ERROR, "ko-en(ko->en)"
                                    if backend.per_hop else "ko-en(ko->en) > en-pt(en->pt)")
        assert len(backend.submitted) == 2 and len(front.cache) == 0

    asyncio.run(run())


def test_no_route_and_an_unavailable_back_end_submit_nothing(backend: FakeBackend) -> None:
    front = TranslationFront(backend)

    async def run() -> None:
        assert not front.covers("pt", "ko") and front.covers("ko", "pt")
        assert await front.translate_one("olá", "pt", "ko") == Translation(
            "ko", "olá", False, NO_ROUTE)
        backend.down = True
        assert (await front.translate_one("hi", "en", "pt")).reason == NO_TRANSLATOR
        assert await front.translate("hi", "en", ["en", "pt"]) == {
            "pt": Translation("pt", "hi", False, NO_TRANSLATOR)}

    asyncio.run(run())
    assert backend.submitted == [] and front.stats.no_route == 1
    assert front.stats.requests == 3


def test_a_new_glossary_version_is_a_new_cache_key(backend: FakeBackend) -> None:
    front = TranslationFront(backend)
    v1 = Glossary("shop", keep=("Pink Friday",))
    v2 = v1.with_version(2)

    async def run() -> None:
        await front.translate_one("hi", "en", "pt", v1)
        await front.translate_one("hi", "en", "pt", v1)
        await front.translate_one("hi", "en", "pt", v2)
        await front.aclose()

    asyncio.run(run())
    assert len(backend.submitted) == 2 and backend.closed
