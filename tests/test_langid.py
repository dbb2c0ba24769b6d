"""The minimal language detector on chat-like text (the real lid.176 model)."""

from __future__ import annotations

import pytest

from langid import Detector, clean_text, normalize_lang


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.mark.parametrize(("text", "lang"), [
    ("tem frete grátis?", "pt"),
    ("How much is the shipping to Canada?", "en"),
    ("배송 얼마예요?", "ko"),
    ("これはいくらですか", "ja"),
    ("这个多少钱", "zh"),
    ("ราคาเท่าไหร่", "th"),
])
def test_detects_common_chat_languages(detector: Detector, text: str, lang: str) -> None:
    assert detector.detect(text).lang == lang


@pytest.mark.parametrize("text", ["😍😍🔥", "12345", "!!!", "https://shop.example.com/p/12",
                                  "@maria_silva", "#sale 50"])
def test_text_without_language_is_undetermined(detector: Detector, text: str) -> None:
    d = detector.detect(text, declared="pt")
    assert d.lang == "und" and d.reason == "und"


def test_declared_language_wins_when_the_model_is_unsure(detector: Detector) -> None:
    # lid.176 calls this Latin; the Portuguese speaker's declared language decides.
    d = detector.detect("Quanto custa esse batom?", declared="pt")
    assert d.lang == "pt" and d.reason == "prior"


def test_confident_model_beats_the_declared_language(detector: Detector) -> None:
    d = detector.detect("I would like to know when this ships to my house", declared="pt")
    assert d.lang == "en" and d.reason == "model"


def test_cleaning_and_normalisation() -> None:
    assert clean_text("LIIINDO 😍 @ana https://x.com/a") == "liindo"
    assert normalize_lang("pt-BR") == "pt" and normalize_lang("iw") == "he"
    assert normalize_lang("xx") is None
