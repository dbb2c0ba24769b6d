"""An engine that fails or hangs never drops a comment. The real model cannot be made to
fail on demand, so these tests give the gateway engines that do."""

from __future__ import annotations

import threading

from tests.harness import live_server


class BrokenEngine:
    name = "broken"

    def supports(self, src: str, tgt: str) -> bool:
        return True

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        raise RuntimeError("CUDA error: device-side assert triggered")


class HangingEngine:
    name = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()

    def supports(self, src: str, tgt: str) -> bool:
        return True

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.release.wait(30)
        return [f"late {t}" for t in texts]


def test_engine_error_delivers_the_original_marked() -> None:
    with live_server(engines=[BrokenEngine()]) as srv:
        en = srv.viewer("broken", "en")
        pt = srv.viewer("broken", "pt")
        en.comment("Does it come in red?")
        got = pt.expect_final("Does it come in red?")
        assert got["text"] == "Does it come in red?"
        assert got["translated"] is False and got["reason"] == "engine_error"
        assert srv.get("/v1/stats").json()["translation"]["errors"] >= 1
        en.comment("still working?")
        pt.expect_comment("still working?")


def test_engine_timeout_sends_pending_then_gives_up_with_a_reason() -> None:
    engine = HangingEngine()
    with live_server(engines=[engine], translation_wait_ms=50,
                     translation_timeout_ms=300) as srv:
        en = srv.viewer("hang", "en")
        pt = srv.viewer("hang", "pt")
        en.comment("Is shipping free?")
        got = pt.expect_comment("Is shipping free?")
        assert got["pending"] is True and got["text"] == "Is shipping free?"
        # The English reader got it at once, not after the timeout.
        assert en.expect_comment("Is shipping free?")["pending"] is False
        t = pt.expect(lambda f: f["type"] == "translation" and f["id"] == got["id"])
        assert t["translated"] is False and t["reason"] == "timeout"
        assert t["text"] == "Is shipping free?"
        engine.release.set()
