"""Each rule of the language detector on its own: cleaning, scripts, labels, the prior."""

from __future__ import annotations

import pytest

from babelcast.langid import Detection, Detector, Thresholds, clean_text, normalize_lang
from babelcast.langid.codes import ISO_639_1, NOT_CHAT_LANGUAGES, label_to_lang
from babelcast.langid.detector import Pending, decide
from babelcast.langid.lexicon import LETTER_HINTS, WORDS
from babelcast.langid.scripts import JA_ONLY_HAN, SCRIPT_LANGUAGES, ZH_ONLY_HAN, script_counts


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


# --- cleaning ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("LIIINDO 😍 @ana https://x.com/a", "liindo"),
    ("kkkkkkk", "kk"),
    ("Quanto custa?\nE o frete?", "quanto custa e o frete"),
    ("ver em loja.com.br/p/1 ou www.x.io", "ver em ou"),
    ("#promo #racuntiktok amei", "amei"),
    ("R$ 89,90 à vista", "r à vista"),
    ("ｈｅｌｌｏ　ｗｏｒｌｄ", "hello world"),  # full width, ideographic space
    ("it’s “great”", "it's great"),
    ("'quoted'", "quoted"),
    ("❤️👍🏽 1️⃣ ✨", ""),
    ("ราคาเท่าไหร่คะ", "ราคาเท่าไหร่คะ"),  # Thai marks stay with their letters
    ("नमस्ते", "नमस्ते"),
    ("STRASSE Größe", "strasse größe"),  # lower case; "ß" kept (casefold would make "ss")
])
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_output_is_one_line_without_controls() -> None:
    out = clean_text("a\x00b\r\nc\td\u2028e\x1bf")
    assert out == "a b c d e f"


# --- labels -----------------------------------------------------------------------------

@pytest.mark.parametrize(("label", "lang"), [
    ("__label__en", "en"), ("__label__zh", "zh"), ("__label__he", "he"), ("__label__id", "id"),
    ("__label__iw", "he"), ("__label__in", "id"), ("__label__wuu", "zh"), ("__label__yue", "zh"),
    ("__label__arz", "ar"), ("__label__als", "de"), ("__label__ckb", "ku"),
    ("__label__sh", "hr"), ("__label__min", "id"), ("__label__ceb", None),
    ("__label__war", None), ("__label__nds", None), ("__label__xx", None),
])
def test_fasttext_labels_map_to_iso_639_1(label: str, lang: str | None) -> None:
    assert label_to_lang(label) == lang


def test_dead_and_constructed_languages_are_never_answered(detector: Detector) -> None:
    assert {"la", "eo", "io", "vo"} <= NOT_CHAT_LANGUAGES
    for text in ["quanto custa esse batom", "mi amas vin", "lorem ipsum dolor sit amet"]:
        assert detector.detect(text).lang not in NOT_CHAT_LANGUAGES


def test_normalize_lang() -> None:
    assert normalize_lang("pt-BR") == "pt" and normalize_lang("zh_Hant_TW") == "zh"
    assert normalize_lang(" EN ") == "en" and normalize_lang("iw") == "he"
    assert normalize_lang("xx") is None and normalize_lang("") is None
    assert normalize_lang(None) is None  # type: ignore[arg-type]


# --- scripts ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "lang"), [
    ("배송 얼마예요?", "ko"),
    ("ㅋㅋㅋㅋ", "ko"),  # compatibility jamo
    ("iPhone 15 케이스 있어요?", "ko"),  # Hangul outweighs the Latin brand name
    ("size M 있어요?", "ko"),
    ("かわいい", "ja"),
    ("ポチりました", "ja"),
    ("Mサイズまだありますか", "ja"),
    ("在庫ありますか", "ja"),  # Han with kana
    ("人々", "ja"),  # iteration mark
    ("ราคาเท่าไหร่คะ", "th"),
    ("CF ค่ะ", "th"),
    ("这个多少钱", "zh"),
    ("這個多少錢", "zh"),  # traditional
    ("γεια σας, πόσο κάνει;", "el"),
    ("ما هو السعر", "ar"),
    ("שלום, כמה זה עולה?", "he"),
    ("ეს რა ღირს?", "ka"),
    ("Սա ինչ արժե?", "hy"),
])
def test_script_rules(detector: Detector, text: str, lang: str) -> None:
    d = detector.detect(text, declared="en")
    assert d.lang == lang, d


def test_single_language_scripts_decide_with_full_confidence(detector: Detector) -> None:
    assert detector.detect("예뻐요", declared="ja") == Detection("ko", 1.0, "script")
    assert detector.detect("かわいい", declared="zh") == Detection("ja", 1.0, "script")
    assert detector.detect("สวย", declared="en") == Detection("th", 1.0, "script")


def test_han_without_kana(detector: Detector) -> None:
    # Han alone is Chinese ...
    assert detector.detect("素敵") == Detection("zh", 1.0, "script")
    # ... unless the sender declared Japanese and nothing in the text is Chinese-only ...
    assert detector.detect("素敵", declared="ja") == Detection("ja", 0.5, "prior")
    assert detector.detect("送料無料", declared="ja").lang == "ja"
    # ... a simplified or Chinese-only character contradicts the prior ...
    assert detector.detect("多少钱", declared="ja") == Detection("zh", 1.0, "script")
    assert detector.detect("這個", declared="ja").lang == "zh"
    # ... and Japanese-only kanji decide without a prior.
    assert detector.detect("値段", declared="zh") == Detection("ja", 1.0, "script")
    # A Korean speaker writing Han only is writing Chinese.
    assert detector.detect("多少", declared="ko").lang == "zh"


def test_han_marker_sets_do_not_overlap() -> None:
    assert not ZH_ONLY_HAN & JA_ONLY_HAN


def test_script_counts_weigh_cjk_like_words() -> None:
    counts = script_counts(clean_text("iPhone 15 케이스"))
    assert counts["Latin"] == 6 and counts["Hangul"] == 9


@pytest.mark.parametrize(("text", "declared", "lang"), [
    ("це дуже гарно, є розмір М?", "ru", "uk"),  # є, ї are Ukrainian letters
    ("это дорого?", "uk", "ru"),  # э, ы are not Ukrainian
    ("قیمتش چنده؟", "ar", "fa"),  # Persian letters
    ("بكم هذا؟", "fa", "ar"),
])
def test_letters_settle_cyrillic_and_arabic_neighbours(detector: Detector, text: str,
                                                       declared: str, lang: str) -> None:
    assert detector.detect(text, declared).lang == lang


def test_the_prior_chooses_within_a_shared_script(detector: Detector) -> None:
    # "дорого" is Russian and Ukrainian alike: the declared language decides.
    assert detector.detect("дорого", declared="uk").lang == "uk"
    assert detector.detect("дорого", declared="ru").lang == "ru"


def test_script_language_sets() -> None:
    latin = SCRIPT_LANGUAGES["Latin"]
    assert {"en", "pt", "vi", "tr", "id", "sr"} <= latin
    assert not {"ru", "ar", "ko", "ja", "zh", "th"} & latin
    assert {"ru", "uk", "bg", "sr"} <= SCRIPT_LANGUAGES["Cyrillic"]
    assert {"ar", "fa", "ur"} <= SCRIPT_LANGUAGES["Arabic"]
    for langs in SCRIPT_LANGUAGES.values():
        assert langs <= ISO_639_1


# --- lexicon ----------------------------------------------------------------------------

def test_lexicon_entries_are_normalised() -> None:
    for word, langs in WORDS.items():
        assert word == clean_text(word), word
        assert langs and set(langs) <= ISO_639_1
    for char, langs in LETTER_HINTS.items():
        assert len(char) == 1 and set(langs) <= ISO_639_1


@pytest.mark.parametrize(("text", "lang"), [
    ("berapa kak", "id"), ("wkwkwk", "id"), ("vc tem?", "pt"), ("kkkkk", "pt"),
    ("jajaja", "es"), ("mdrrr", "fr"), ("link pls", "en"), ("dep qua shop oi", "vi"),
])
def test_chat_words_beat_an_ignorant_model(detector: Detector, text: str, lang: str) -> None:
    assert detector.detect(text).lang == lang
    assert detector.detect(text, declared="de").lang == lang


# --- the prior, as a pure rule ----------------------------------------------------------

LATIN = SCRIPT_LANGUAGES["Latin"]
T = Thresholds(confident_short=0.9, confident_long=0.8, candidate_min=0.05, short_words=3,
               lexicon_weight=2.0)


def pending(n_words: int, declared: str | None, lexicon: dict[str, float] | None = None
            ) -> Pending:
    return Pending("x", LATIN, declared, n_words, lexicon or {}, False)


def test_prior_overrides_a_weak_model_on_short_text() -> None:
    d = decide(pending(2, "pt"), {"es": 0.6, "it": 0.2}, T)
    assert d == Detection("pt", 0.0, "prior")


def test_prior_does_not_override_a_confident_model() -> None:
    assert decide(pending(2, "pt"), {"es": 0.95}, T) == Detection("es", 0.95, "model")
    assert decide(pending(8, "pt"), {"es": 0.85, "pt": 0.1}, T).lang == "es"


def test_prior_on_long_text_needs_the_declared_language_among_the_candidates() -> None:
    assert decide(pending(8, "pt"), {"es": 0.6, "pt": 0.3}, T) == Detection("pt", 0.3, "prior")
    assert decide(pending(8, "pt"), {"es": 0.6, "pt": 0.01}, T).lang == "es"
    assert decide(pending(8, "pt"), {"es": 0.6}, T).lang == "es"


def test_no_evidence_at_all() -> None:
    assert decide(pending(1, "id"), {}, T) == Detection("id", 0.0, "prior")
    assert decide(pending(1, None), {}, T).reason == "model"


def test_lexicon_evidence_adds_to_the_model() -> None:
    # one of two words is an Indonesian chat word: 2.0 / 2 = 1.0 for id
    d = decide(pending(2, "en", {"id": 1.0}), {"en": 0.3}, T)
    assert d == Detection("id", 1.0, "model")
    no_lexicon = Thresholds(T.confident_short, T.confident_long, T.candidate_min,
                            T.short_words, 0.0)
    assert decide(pending(2, "en", {"id": 1.0}), {"en": 0.3}, no_lexicon).lang == "en"


def test_same_evidence_without_a_declared_language_goes_to_the_model() -> None:
    assert decide(pending(2, None), {"es": 0.6, "pt": 0.3}, T) == Detection("es", 0.6, "model")
