"""The ack of a comment in another language than the room's moderation language arrives within
``moderation_wait_ms`` even while its translation never comes (the translator is down), also
for the comments a sender typed while an earlier one waited; waiting resumes once translations
come back in time."""

from __future__ import annotations

import threading
import time

from tests.harness import live_server

WAIT_MS = 600
MARGIN_S = 0.5


class SilentEngine:
    """Covers every pair and answers nothing until ``answer`` is set (a translator outage)."""

    name = "silent"

    def __init__(self) -> None:
        self.answer = threading.Event()

    def supports(self, src: str, tgt: str) -> bool:
        return True

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.answer.wait(60)
        return [f"[{tgt}] {t}" for t in texts]


def test_acks_stay_within_the_moderation_wait_while_the_translator_never_answers() -> None:
    engine = SilentEngine()
    with live_server(engines=[engine], moderation_wait_ms=WAIT_MS,
                     translation_timeout_ms=30_000) as srv:
        try:
            pt = srv.viewer("outage", "pt", "Ana")
            en = srv.viewer("outage", "en", "Bob")
            texts = ["tem frete grátis?", "qual o tamanho dela?", "quanto custa o azul?",
                     "chega até sexta?"]
            sent = time.monotonic()
            for n, text in enumerate(texts):  # typed quickly, one after the other
                pt.comment(text, client_id=f"c{n}")
            took = []
            for n in range(len(texts)):
                ack = pt.expect(lambda f, c=f"c{n}": f["type"] == "ack" and f["client_id"] == c)
                assert ack["src_lang"] == "pt"
                took.append(time.monotonic() - sent)
            assert max(took) < WAIT_MS / 1000 + MARGIN_S, took
            # Published all the same, in order, to the English reader (pending: no translation).
            got = [en.expect_comment(text) for text in texts]
            assert all(f["pending"] is True for f in got)

            engine.answer.set()  # the translator is back: translations arrive in time again
            pt.comment("Voltou ao normal?", client_id="back")
            pt.expect(lambda f: f["type"] == "ack" and f["client_id"] == "back")
            back = en.expect_comment("Voltou ao normal?")
            assert back["translated"] is True and back["text"] == "[en] Voltou ao normal?"
        finally:
            engine.answer.set()
