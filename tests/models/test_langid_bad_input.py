"""Bad input to the language detector: it answers "und" or raises a clear error, never
crashes, and never hands fastText something it rejects."""

from __future__ import annotations

import pytest

from babelcast.langid import UNDETERMINED, Detection, Detector

UND = Detection(UNDETERMINED, 1.0, "und")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.mark.parametrize("text", [
    "", " ", "\n\n\t", "\x00", "\x00" * 1000, "\ud800", "\udfff\ud800", "\u0301",
    "\u0301\u0302\u0303" * 50, "\u200b\u200d\ufeff", "\ufe0f\ufe0f", "\U000e0001",
    "\u202e\u202d", "￼", "\x1b[31m\x1b[0m", "\U0010ffff",
])
def test_text_with_no_letters_is_undetermined(detector: Detector, text: str) -> None:
    assert detector.detect(text) == UND
    assert detector.detect(text, declared="pt") == UND


def test_huge_text(detector: Detector) -> None:
    d = detector.detect("quanto custa o frete? " * 5000)  # ~110 KB
    assert d.lang == "pt"
    assert detector.detect("x" * 100_000).lang != UNDETERMINED
    assert detector.detect("😍" * 100_000) == UND
    assert detector.detect("a" * 100_000 + "\ud800").reason in {"model", "prior"}
    assert detector.detect("😍" * 300 + " tem frete grátis?").lang == "pt"
    assert detector.detect(" " * 300 + "tem frete grátis?").lang == "pt"


def test_letters_mixed_with_nul_and_surrogates(detector: Detector) -> None:
    d = detector.detect("tem\x00 frete\ud800 grátis?\udfff", declared="pt")
    assert d.lang == "pt"
    d = detector.detect("how\x00much\x00is\x00this\x00one")
    assert d.lang == "en"


def test_newlines_and_control_characters(detector: Detector) -> None:
    assert detector.detect("quanto\ncusta\r\no\tfrete?").lang == "pt"
    assert detector.detect("배송\n얼마예요").lang == "ko"


def test_marks_need_a_letter(detector: Detector) -> None:
    assert detector.detect("\u0301\u0301") == UND
    assert detector.detect("e\u0301 bom?", declared="pt").lang == "pt"  # decomposed "é"


@pytest.mark.parametrize("text", [None, b"bytes", 42, ["a"], {"text": "a"}])
def test_text_that_is_not_a_string_is_a_type_error(detector: Detector, text: object) -> None:
    with pytest.raises(TypeError, match="text must be str"):
        detector.detect(text)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be str"):
        detector.detect_batch(["ok", text])  # type: ignore[list-item]


@pytest.mark.parametrize("declared", ["", "xx", "und", "english", "🇧🇷", "\x00", 42, ["pt"],
                                      None])
def test_bad_declared_language_is_ignored(detector: Detector, declared: object) -> None:
    assert detector.detect("cakep", declared=declared).reason == "model"  # type: ignore[arg-type]


@pytest.mark.parametrize("candidates", [[], ["xx"], ["", "und"], set(), None])
def test_bad_candidates_mean_no_restriction(detector: Detector, candidates: object) -> None:
    d = detector.detect("how much is shipping", candidates=candidates)  # type: ignore[arg-type]
    assert d.lang == "en"
