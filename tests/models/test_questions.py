"""The host console's question detector (gateway.questions): each rule, its exceptions, and the
English-translation signal."""

from __future__ import annotations

import pytest

from babelcast.gateway.chat.questions import QuestionDetector, has_question_mark

detector = QuestionDetector()


@pytest.mark.parametrize(("text", "lang"), [
    ("tem frete grátis?", "pt"), ("¿Cuánto cuesta?", "es"), ("いくら？", "ja"),
    ("هل يوجد شحن؟", "ar"), ("price??", "en"), ("😍 link?", "und"),
])
def test_a_question_mark_in_any_script_is_a_question(text: str, lang: str) -> None:
    assert detector.detect(text, lang).reason == "punctuation"


def test_a_question_mark_inside_a_url_is_not() -> None:
    assert not has_question_mark("see https://shop.example.com/item?id=3")
    assert not detector.is_question("see https://shop.example.com/item?id=3", "en")


@pytest.mark.parametrize(("text", "lang"), [
    ("배송 되나요", "ko"), ("사이즈 있나요 😊", "ko"), ("이거 남자도 써도 될까", "ko"),
    ("日本に発送できますか", "ja"), ("防水かな", "ja"), ("包邮吗", "zh"),
])
def test_final_particles_ask_without_a_mark(text: str, lang: str) -> None:
    assert detector.detect(text, lang).reason == "ending"


@pytest.mark.parametrize(("text", "lang"), [
    ("how much is this", "en"), ("is it waterproof", "en"), ("hi! does it come in black", "en"),
    ("qual o preço do frete pro brasil", "pt"), ("oi gente, tem frete grátis", "pt"),
    ("e o frete, quanto fica", "pt"), ("vocês enviam pra portugal", "pt"),
    ("cuanto cuesta", "es"), ("hay envío a chile", "es"),
    ("combien ça coûte", "fr"), ("avez-vous le rouge", "fr"),
    ("wie viel kostet der Versand", "de"), ("gibt es das auch in blau", "de"),
    ("이거 얼마예요", "ko"), ("これはいくらですか", "ja"), ("这个多少钱", "zh"),
])
def test_interrogative_words_ask_without_a_mark(text: str, lang: str) -> None:
    assert detector.is_question(text, lang), text


@pytest.mark.parametrize(("text", "lang"), [
    ("I love this lipstick", "en"), ("what a deal!!", "en"), ("how cute 😍", "en"),
    ("I know what I'm buying tonight", "en"),  # not at the start of a clause
    ("que lindo 😍", "pt"), ("vocês são demais", "pt"), ("tem que comprar logo", "pt"),
    ("qué bonito", "es"), ("was für ein tolles Kleid", "de"), ("wie schön", "de"),
    ("예뻐요", "ko"), ("갈게요", "ko"), ("언제나 응원해요", "ko"),
    ("いつも見てます", "ja"), ("どうもありがとう", "ja"), ("几乎每天都用", "zh"),
    ("好漂亮", "zh"), ("😍😍😍", "und"),
])
def test_statements_and_exclamations_are_not_questions(text: str, lang: str) -> None:
    assert detector.detect(text, lang).question is False, text


def test_rules_follow_the_comments_language() -> None:
    # "como" opens a question in Portuguese; in English it is no interrogative.
    assert detector.is_question("como faz pra comprar", "pt")
    assert not detector.is_question("como faz pra comprar", "en")
    # A language without rules gets the question mark only.
    assert not detector.is_question("kiasi gani", "sw")


def test_the_english_translation_is_a_second_signal() -> None:
    # Swahili has no rules here; its English translation does.
    verdict = detector.detect("kiasi gani", "sw", english="how much is it")
    assert verdict.question and verdict.reason == "english"
    assert detector.detect("amei", "pt", english="I loved it").question is False
    # The original's own verdict comes first.
    assert detector.detect("quanto custa", "pt", english="how much").reason == "interrogative"
    # English comments are not judged twice.
    assert detector.detect("I love it", "en", english="how much").question is False
