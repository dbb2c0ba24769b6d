"""Batching, coalescing, caching, deadlines and shedding of the translation service, on tiny
real CTranslate2 models (see test_translation_ct2.py). The engine is wrapped to record each
batch and, where a test needs requests to pile up, to hold the worker at a gate: requests
queue behind it deterministically, with no sleeps. The services here run without the chat stage
(``chat_stage=False``): the tests watch exactly what reaches the engine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from babelcast.translation import (
    ENGINE_ERROR,
    OVERLOADED,
    TIMEOUT,
    CT2Options,
    CTranslate2Engine,
    Engine,
    TranslationService,
)
from babelcast.translation.batcher import estimate_tokens
from babelcast.translation.toymodels import CHAT_LINES, build_random_model
from tests.harness import live_server

FIXED_LENGTH = CT2Options(device="cpu", max_length_ratio=0.01, max_length_extra=6)
# Chat lines without emoji: protected spans make the glossary verify the random model's output
# and fall back to extra engine calls, which would blur what these tests count.
PLAIN = [line for line in CHAT_LINES if all(ord(c) < 0x2000 for c in line)]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("batching-models")
    return {
        "nllb": build_random_model(root / "nllb", family="nllb", languages=("en", "pt", "es")),
        "pt-en": build_random_model(root / "pt-en", pairs=[("pt", "en")], seed=3),
        "en-ko": build_random_model(root / "en-ko", pairs=[("en", "ko")], seed=4),
    }


@pytest.fixture(scope="session")
def nllb(models: dict[str, Path]) -> CTranslate2Engine:
    return CTranslate2Engine(models["nllb"], FIXED_LENGTH)


class Recording:
    """Wraps an engine: records every batch, can hold batches at a gate, can fail on a text."""

    def __init__(self, inner: Engine, poison: str | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.multilingual = getattr(inner, "multilingual", False)
        self.poison = poison
        self.broken = False
        self.batches: list[tuple[str, str, list[str]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def supports(self, src: str, tgt: str) -> bool:
        return self.inner.supports(src, tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        with self._lock:
            self.batches.append((src, tgt, list(texts)))
        self.entered.set()
        self.gate.wait(30)
        if self.broken:
            raise RuntimeError("CUDA error: device-side assert triggered")
        if self.poison is not None and self.poison in texts:
            raise RuntimeError(f"model choked on {self.poison!r}")
        return self.inner.translate_batch(texts, src, tgt)

    def texts(self) -> list[str]:
        return [t for _, _, batch in self.batches for t in batch]


async def hold_worker(service: TranslationService, engine: Recording, text: str,
                      src: str = "en", tgt: str = "pt") -> asyncio.Task[Any]:
    """Start one translation and return once its batch is on the worker, blocked at the gate."""
    engine.gate.clear()
    engine.entered.clear()
    task = asyncio.create_task(service.translate_one(text, src, tgt))
    await asyncio.to_thread(engine.entered.wait, 30)
    return task


async def until(condition: Any) -> None:
    """Let the event loop run the tasks started so far until ``condition()`` holds. Only
    yields to the loop (no wall-clock wait): the tasks it waits for need no other thread."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the event loop never reached the expected state")


@pytest.fixture
def run() -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


def test_requests_from_many_rooms_are_batched_per_language_pair(nllb: CTranslate2Engine,
                                                                run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, chat_stage=False)
    requests = [(text, "en", tgt) for text in PLAIN[:8] for tgt in ("pt", "es")]
    requests += [(text, "pt", "en") for text in PLAIN[10:16]]

    async def go() -> list[Any]:
        first = await hold_worker(service, engine, "hello everyone")
        tasks = [asyncio.create_task(service.translate_one(*r)) for r in requests]
        await until(lambda: service.batcher.queued == len(requests))
        engine.gate.set()
        await first
        return await asyncio.gather(*tasks)

    results = run(go())
    service.close()
    assert all(r.translated for r in results)
    # One batch for the held request, then exactly one batch per language pair.
    assert len(engine.batches) == 4
    by_pair = {(s, t): texts for s, t, texts in engine.batches[1:]}
    assert set(by_pair) == {("en", "pt"), ("en", "es"), ("pt", "en")}
    assert sorted(by_pair[("en", "pt")]) == sorted(PLAIN[:8])
    assert sorted(by_pair[("pt", "en")]) == sorted(PLAIN[10:16])
    # Batched outputs are what the model gives each text alone, in the right slot.
    for (text, src, tgt), result in zip(requests, results, strict=True):
        assert result.text == nllb.translate_batch([text], src, tgt)[0]
    stats = service.snapshot()
    assert stats["batches"] == 4 and stats["max_batch"] == 8
    assert stats["batch_sizes"]["5-16"] == 3


def test_a_batch_is_cut_at_the_token_budget(nllb: CTranslate2Engine, run: Any) -> None:
    engine = Recording(nllb)
    texts = PLAIN[:20]
    budget = sum(estimate_tokens(t) for t in texts[:5])
    service = TranslationService([engine], threads=1, max_wait_ms=0, max_batch_tokens=budget,
                                 chat_stage=False)

    async def go() -> None:
        first = await hold_worker(service, engine, "hold")
        tasks = [asyncio.create_task(service.translate_one(t, "en", "pt")) for t in texts]
        await until(lambda: service.batcher.queued == len(texts))
        engine.gate.set()
        await asyncio.gather(first, *tasks)

    run(go())
    service.close()
    sizes = [len(b) for _, _, b in engine.batches[1:]]
    assert sum(sizes) == len(texts) and max(sizes) <= 5 and len(sizes) >= 4
    for _, _, batch in engine.batches[1:]:
        assert len(batch) == 1 or sum(estimate_tokens(t) for t in batch) <= budget
    # Arrival order is kept across the cut batches.
    assert engine.texts()[1:] == texts


def test_idle_workers_share_a_ready_queue(nllb: CTranslate2Engine, run: Any) -> None:
    engine = Recording(nllb)
    texts = PLAIN[:4]
    budget = sum(estimate_tokens(t) for t in texts)
    # Never ready by time; ready when the fourth text fills the budget, with two idle workers.
    service = TranslationService([engine], threads=2, max_wait_ms=60_000,
                                 max_batch_tokens=budget, chat_stage=False)

    async def go() -> list[Any]:
        return await asyncio.gather(*(service.translate_one(t, "en", "pt") for t in texts))

    results = run(go())
    service.close()
    assert all(r.translated for r in results)
    # Two batches side by side (one per idle worker), in arrival order, not one of four.
    assert sorted(len(b) for _, _, b in engine.batches) == [2, 2]
    assert sorted(engine.texts()) == sorted(texts)


def test_identical_texts_in_flight_are_translated_once_then_cached(nllb: CTranslate2Engine,
                                                                   run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, chat_stage=False)

    async def go() -> None:
        first = await hold_worker(service, engine, "hold")
        # Ten rooms ask for "price?" at once, and two other texts.
        tasks = [asyncio.create_task(service.translate_one("price?", "en", "pt"))
                 for _ in range(10)]
        tasks += [asyncio.create_task(service.translate_one(t, "en", "pt"))
                  for t in ("link", "love it")]
        await until(lambda: service.batcher.queued == 3)
        engine.gate.set()
        results = await asyncio.gather(first, *tasks)
        assert len({r.text for r in results[1:11]}) == 1
        # Live chat repeats itself: a hit must not reach the model.
        before = len(engine.texts())
        again = await service.translate_one("price?", "en", "pt")
        assert again.translated and again.text == results[1].text
        assert len(engine.texts()) == before

    run(go())
    service.close()
    assert engine.texts().count("price?") == 1
    assert service.stats.coalesced == 9 and service.cache.stats.hits == 1
    assert service.stats.engine_calls == 4  # hold, price?, link, love it


def test_cache_key_includes_the_engine_route(nllb: CTranslate2Engine, run: Any) -> None:
    service = TranslationService([nllb], chat_stage=False)
    out = run(service.translate_one("price?", "en", "pt"))
    service.close()
    ((key, value),) = service.cache._data.items()
    assert key == (out.engine, "en", "pt", "", 0, "price?") and value == out.text


def test_pivot_through_english_across_two_real_engines(models: dict[str, Path],
                                                       run: Any) -> None:
    pt_en = CTranslate2Engine(models["pt-en"], FIXED_LENGTH)
    en_ko = CTranslate2Engine(models["en-ko"], FIXED_LENGTH)
    first, second = Recording(pt_en), Recording(en_ko)
    service = TranslationService([first, second], max_wait_ms=0, chat_stage=False)
    out = run(service.translate_one("quanto custa o vermelho?", "pt", "ko"))
    service.close()
    assert out.translated and out.engine == "ct2:pt-en(pt->en) > ct2:en-ko(en->ko)"
    (middle,) = pt_en.translate_batch(["quanto custa o vermelho?"], "pt", "en")
    assert first.batches == [("pt", "en", ["quanto custa o vermelho?"])]
    assert second.batches == [("en", "ko", [middle])]
    assert out.text == en_ko.translate_batch([middle], "en", "ko")[0]


def test_a_burst_past_the_deadline_is_shed_without_touching_the_model(
        nllb: CTranslate2Engine, run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, timeout_s=0.2,
                                 chat_stage=False)
    burst = PLAIN[:30]

    async def go() -> list[Any]:
        first = await hold_worker(service, engine, "hold")
        results = await asyncio.gather(
            *(service.translate_one(t, "en", "pt") for t in burst))
        # Every caller got its comment back within its deadline, untranslated.
        engine.gate.set()
        await first
        await service.drain()
        return results

    results = run(go())
    service.close()
    assert all(r.reason == TIMEOUT and not r.translated for r in results)
    assert [r.text for r in results] == burst
    assert engine.texts() == ["hold"]  # nothing of the burst reached the model
    assert service.batcher.stats.shed_deadline == len(burst)
    assert service.batcher.queued == 0


def test_a_full_queue_sheds_the_oldest_lowest_priority_work(nllb: CTranslate2Engine,
                                                            run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, max_queue=4,
                                 priority_langs=["pt"],
                  chat_stage=False)

    async def go() -> dict[str, Any]:
        first = await hold_worker(service, engine, "hold", tgt="es")
        viewers = {f"viewer {i}": asyncio.create_task(
            service.translate_one(f"viewer {i}", "en", "es")) for i in range(4)}
        await until(lambda: service.batcher.queued == 4)
        host = {f"host {i}": asyncio.create_task(
            service.translate_one(f"host {i}", "en", "pt")) for i in range(3)}
        await until(lambda: service.batcher.stats.shed_overload == 3)
        await until(lambda: sum(t.done() for t in viewers.values()) == 3)
        # The queue was full: each host question pushed out the oldest viewer comment.
        shed = [k for k, t in viewers.items() if t.done()]
        assert shed == ["viewer 0", "viewer 1", "viewer 2"]
        late = asyncio.create_task(service.translate_one("viewer late", "en", "es"))
        await until(lambda: service.batcher.stats.shed_overload == 4)
        engine.gate.set()
        await first
        return {k: await t for k, t in {**viewers, **host, "viewer late": late}.items()}

    results = run(go())
    service.close()
    for key in ("viewer 0", "viewer 1", "viewer 2", "viewer 3"):
        assert results[key].reason == OVERLOADED and results[key].text == key
    assert all(results[f"host {i}"].translated for i in range(3))
    assert results["viewer late"].translated
    # The host's language went first once the worker was free.
    assert [b[1] for b in engine.batches] == ["es", "pt", "es"]
    assert service.stats.shed == 4 and service.batcher.stats.shed_overload == 4


def test_a_new_request_ranking_below_a_full_queue_is_shed_itself(nllb: CTranslate2Engine,
                                                                 run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, max_queue=2,
                                 priority_langs=["pt"], chat_stage=False)

    async def go() -> Any:
        first = await hold_worker(service, engine, "hold")
        host = [asyncio.create_task(service.translate_one(f"q{i}", "en", "pt"))
                for i in range(2)]
        await until(lambda: service.batcher.queued == 2)
        viewer = await service.translate_one("low", "en", "es")  # answered at once
        engine.gate.set()
        await asyncio.gather(first, *host)
        return viewer

    viewer = run(go())
    service.close()
    assert viewer.reason == OVERLOADED and viewer.text == "low"
    assert "low" not in engine.texts()


def test_one_text_the_engine_chokes_on_fails_alone(nllb: CTranslate2Engine, run: Any) -> None:
    engine = Recording(nllb, poison="boom boom")
    service = TranslationService([engine], threads=1, max_wait_ms=0, chat_stage=False)
    texts = [*PLAIN[:6], "boom boom", *PLAIN[6:9]]

    async def go() -> list[Any]:
        first = await hold_worker(service, engine, "hold")
        tasks = [asyncio.create_task(service.translate_one(t, "en", "pt")) for t in texts]
        await until(lambda: service.batcher.queued == len(texts))
        engine.gate.set()
        await first
        return await asyncio.gather(*tasks)

    results = run(go())
    service.close()
    for text, result in zip(texts, results, strict=True):
        if text == "boom boom":
            assert result.reason == ENGINE_ERROR and result.text == text
        else:
            assert result.translated, text
    assert service.stats.errors == 1


def test_a_broken_engine_fails_the_batch_in_three_calls_and_recovers(
        nllb: CTranslate2Engine, run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, chat_stage=False)
    texts = list(PLAIN[:16])

    async def go() -> list[Any]:
        first = await hold_worker(service, engine, "hold")
        engine.broken = True
        tasks = [asyncio.create_task(service.translate_one(t, "en", "pt")) for t in texts]
        await until(lambda: service.batcher.queued == len(texts))
        engine.gate.set()
        await first
        return await asyncio.gather(*tasks)

    results = run(go())
    assert all(r.reason == ENGINE_ERROR and r.text == t for r, t in zip(results, texts,
                                                                         strict=True))
    # hold + (whole batch, two halves): no call per text against a dead model.
    assert len(engine.batches) == 1 + 3
    engine.broken = False
    again = run(service.translate_one(texts[0], "en", "pt"))  # errors are not cached
    service.close()
    assert again.translated


def test_the_event_loop_stays_free_while_a_batch_runs(nllb: CTranslate2Engine,
                                                      run: Any) -> None:
    engine = Recording(nllb)
    service = TranslationService([engine], threads=1, max_wait_ms=0, chat_stage=False)

    async def go() -> None:
        first = await hold_worker(service, engine, "hold")
        # The model is busy on a worker thread; the loop still answers (a cache hit here).
        route = service.router.route("en", "pt")
        assert route is not None
        service.cache.put((route.name, "en", "pt", "", 0, "hi"), "oi")
        hit = await asyncio.wait_for(service.translate_one("hi", "en", "pt"), 5)
        assert hit.text == "oi" and not first.done()
        engine.gate.set()
        assert (await first).translated

    run(go())
    service.close()


def test_gateway_translates_live_chat_through_a_ctranslate2_model(models: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "models.toml"
    config.write_text(f"[embedded]\nenabled = false\n\n[[models]]\npath = '{models['nllb']}'\n"
                      f"max_length_ratio = 0.01\nmax_length_extra = 6\n")
    with live_server(models=str(config), device="cpu", translation_wait_ms=2000) as srv:
        assert srv.get("/readyz").json()["engines"] == ["ct2:nllb"]
        en = srv.viewer("ct2", "en")
        es = srv.viewer("ct2", "es")
        en.comment("How much is the red one? I want it for my sister")
        got = es.expect_final("How much is the red one? I want it for my sister")
        assert got["translated"] is True and got["reason"] is None
        (expected,) = CTranslate2Engine(models["nllb"], FIXED_LENGTH).translate_batch(
            ["How much is the red one? I want it for my sister"], "en", "es")
        assert got["text"] == expected
