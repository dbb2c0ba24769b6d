"""A translation that failed while the engine was down is made again once it is back: the
reader who got the original marked untranslated gets a ``translation`` frame for that earlier
comment, and history holds the translation (MemoryBus and RedisBus)."""

from __future__ import annotations

import pytest

from tests.harness import live_server


class FlakyEngine:
    """Raises while ``down`` (a crashed GPU, a dead translator), translates otherwise."""

    name = "flaky"

    def __init__(self) -> None:
        self.down = True

    def supports(self, src: str, tgt: str) -> bool:
        return True

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        if self.down:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return [f"[{tgt}] {t}" for t in texts]


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_failed_translation_is_retried_once_the_engine_is_back(
        backend: str, request: pytest.FixtureRequest) -> None:
    engine = FlakyEngine()
    extra = {"redis_url": request.getfixturevalue("redis_url")} if backend == "redis" else {}
    with live_server(engines=[engine], translation_wait_ms=100, **extra) as srv:
        en = srv.viewer("retry", "en", "Bob")
        pt = srv.viewer("retry", "pt", "Ana")
        en.comment("Is it waterproof?")
        failed = pt.expect_final("Is it waterproof?")
        assert failed["translated"] is False and failed["reason"] == "engine_error"

        engine.down = False  # back: the retry (after ~1 s) translates it
        done = pt.expect(lambda f: f["type"] == "translation" and f["id"] == failed["id"]
                         and f["translated"] is True)
        assert done["text"] == "[pt] Is it waterproof?" and done["lang"] == "pt"
        # History holds the translation now: a reader joining later gets it translated.
        late = srv.viewer("retry", "pt", "Rui")
        [entry] = [f for f in late.welcome["history"] if f["id"] == failed["id"]]
        assert entry["translated"] is True and entry["text"] == "[pt] Is it waterproof?"
        # Exactly one comment and one retry for the reader; nothing for the English reader.
        assert sum(f["type"] == "translation" and f["id"] == failed["id"] and f["translated"]
                   for f in pt.frames) == 1
        assert not [f for f in en.frames if f["type"] == "translation"]
