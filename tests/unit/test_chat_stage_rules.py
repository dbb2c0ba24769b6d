"""The chat stage's rules, no model: normalisation, casing, reactions, phrases, the built-in
terms under a room's glossary, the data files, and the stage wired into the service (a fake
engine that echoes what it receives)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from babelcast.glossary import Glossary
from babelcast.translation import Translation, TranslationService
from babelcast.translation.chat import (
    KINDS,
    LOWER,
    UPPER,
    ChatRulesError,
    ChatStage,
    available_languages,
    give_back,
    load_pack,
    load_rules,
)
from babelcast.translation.chat.rules import parse_rules


@pytest.fixture(scope="module")
def stage() -> ChatStage:
    return ChatStage()


def model_text(stage: ChatStage, text: str, src: str = "pt", tgt: str = "en") -> str:
    return stage.prepare(text, src, tgt).text


def kinds(stage: ChatStage, text: str, src: str = "pt", tgt: str = "en") -> set[str]:
    return {r.kind for r in stage.prepare(text, src, tgt).rewrites}


# --- data files ---------------------------------------------------------------------------

def test_every_language_has_rules_with_a_reason_per_entry() -> None:
    assert {"pt", "en", "es", "fr", "id", "ko"} <= set(available_languages())
    for lang in available_languages():
        rules = load_rules(lang)
        assert rules.words, lang
        assert all(w.why for w in rules.words.values())
        assert all(r.why for r in rules.reactions)
    for src, tgt in (("pt", "en"), ("en", "pt")):
        pack = load_pack(src, tgt)
        assert pack.mapped and pack.phrases
        assert set(pack.why) == set(pack.mapped) and all(pack.why.values())


def test_a_bad_rules_file_is_refused_naming_the_entry(tmp_path: Path) -> None:
    with pytest.raises(ChatRulesError, match=r"\[words\] 'vc'.*kind"):
        parse_rules("pt", {"words": {"vc": {"to": "você", "why": "x", "kind": "slang"}}}, "pt")
    with pytest.raises(ChatRulesError, match="expected non-empty text"):
        parse_rules("pt", {"words": {"vc": {"to": "você", "kind": "abbreviation"}}}, "pt")
    (tmp_path / "pt.toml").write_text("[words\n")
    with pytest.raises(ChatRulesError, match=r"pt\.toml"):
        load_rules("pt", tmp_path)
    with pytest.raises(ValueError, match="unknown kinds"):
        ChatStage(kinds={"slang"})


# --- normalisation ------------------------------------------------------------------------

def test_abbreviations_and_phonetic_spellings(stage: ChatStage) -> None:
    assert model_text(stage, "vc manda pra curitiba?") == "Você manda para Curitiba?"
    assert model_text(stage, "tb quero o rosa") == "Também quero o rosa"
    assert model_text(stage, "ta esgotado o azul?") == "Está esgotado o azul?"
    assert model_text(stage, "hj tem live, obg") == "Hoje tem live, obrigado"
    assert model_text(stage, "u guys r the best", "en", "pt") == "You guys are the best"


def test_context_picks_the_form(stage: ChatStage) -> None:
    # "pq" asks why in a question and answers because otherwise.
    assert model_text(stage, "pq o preço mudou?") == "Por que o preço mudou?"
    assert model_text(stage, "comprei pq é lindo") == "Comprei porque é lindo"
    # "ur" is "you're" before an adjective or article, "your" before a noun.
    assert model_text(stage, "ur so pretty", "en", "pt") == "You're so pretty"
    assert model_text(stage, "when is ur next live?", "en", "pt") == "When is your next live?"


def test_missing_accents_restored_only_where_unambiguous(stage: ChatStage) -> None:
    assert model_text(stage, "nao gostei, tao caro") == "Não gostei, tão caro"
    assert model_text(stage, "frete gratis?") == "Frete grátis?"
    # "esta" (this) and "e" (and) are words of their own: left alone.
    assert model_text(stage, "esta cor e linda") == "Esta cor e linda"


def test_stretched_letters(stage: ChatStage) -> None:
    assert model_text(stage, "lindooooo demais") == "Lindo demais"
    assert model_text(stage, "naoooo") == "Não"
    assert model_text(stage, "nossaaaa") == "Nossa"
    assert model_text(stage, "goooood", "en", "pt") == "Good"
    assert model_text(stage, "sooo cute", "en", "pt") == "So cute"
    # A size and a scream are not stretched words.
    assert "XXXL" in model_text(stage, "tem XXXL?")
    assert "aaaaa" in model_text(stage, "aaaaa que lindo").lower()


def test_protected_spans_are_never_rewritten(stage: ChatStage) -> None:
    text = "@vc_loja vc viu https://loja.com/vc?pq=1 #tbt GLOW20"
    out = model_text(stage, text)
    for span in ("@vc_loja", "https://loja.com/vc?pq=1", "#tbt", "GLOW20"):
        assert span in out
    assert " você viu " in out


def test_repeated_punctuation_is_one_mark_for_the_model_and_given_back(
        stage: ChatStage) -> None:
    prepared = stage.prepare("quero muito!!! qual o preço???", "pt", "en")
    assert prepared.text == "Quero muito! Qual o preço?"
    assert prepared.trailing == "???"
    assert give_back("I really want it! What's the price?", prepared.style, "???",
                     frozenset(), False) == "I really want it! what's the price???"


def test_casing_styles(stage: ChatStage) -> None:
    lower = stage.prepare("entrega em porto alegre?", "pt", "en")
    assert lower.style == LOWER and lower.text == "Entrega em Porto Alegre?"
    upper = stage.prepare("NAO GOSTEI DA COR", "pt", "en")
    assert upper.style == UPPER and upper.text == "Não gostei da cor"
    assert stage.prepare("Entrega em Porto Alegre?", "pt", "en").rewrites == ()


def test_ambiguous_places_only_after_a_preposition_of_place(stage: ChatStage) -> None:
    assert model_text(stage, "moro em natal") == "Moro em Natal"
    assert model_text(stage, "presente de natal") == "Presente de Natal"  # "de" counts
    assert model_text(stage, "feliz natal") == "Feliz natal"
    assert model_text(stage, "sou de salvador") == "Sou de Salvador"


def test_give_back_keeps_names_links_and_i() -> None:
    assert give_back("Do you ship to Curitiba? I live there.", LOWER, None,
                     frozenset({"curitiba"}), False) == "do you ship to Curitiba? I live there."
    names = frozenset({"new york", "recife"})
    assert give_back("Recife is far", LOWER, None, names, False) == "Recife is far"
    assert give_back("New York? New colors?", LOWER, None, names, False) == \
        "New York? new colors?"
    assert give_back("#PinkFriday deals", LOWER, None, frozenset(), False) == \
        "#PinkFriday deals"
    assert give_back("Look at https://x.com/A @Ana", UPPER, None, frozenset(), False) == \
        "LOOK AT https://x.com/A @Ana"


# --- rendered by rule ---------------------------------------------------------------------

def test_reactions_and_phrases_are_rendered_without_the_model(stage: ChatStage) -> None:
    assert stage.prepare("kkkkkkk", "pt", "en").direct == "haha"
    assert stage.prepare("hahaha 😂", "en", "pt").direct == "kkkk 😂"
    assert stage.prepare("amei ❤️❤️", "pt", "en").direct == "loved it ❤️❤️"
    assert stage.prepare("obrigadaaa!!!", "pt", "en").direct == "thank you!"
    assert stage.prepare("amei o vestido", "pt", "en").direct is None
    # A language with no term pack still renders laughter by rule.
    assert stage.prepare("jajaja", "es", "pt").direct == "kkkk"


def test_reactions_at_the_edges_are_taken_off_for_the_model(stage: ChatStage) -> None:
    prepared = stage.prepare("kkkkk amei o vestido", "pt", "en")
    assert prepared.text == "Amei o vestido" and prepared.prefix == "haha "
    done = stage.finish(prepared, Translation("en", "I loved the dress", True))
    assert done.text == "haha I loved the dress"
    prepared = stage.prepare("lol i need the red one", "en", "pt")
    assert prepared.text == "I need the red one"
    assert stage.finish(prepared, Translation("pt", "Eu preciso do vermelho", True)).text \
        == "kkkk eu preciso do vermelho"


# --- built-in terms under the room's glossary ---------------------------------------------

def test_commerce_terms_are_mapped_terms_and_a_room_glossary_wins(stage: ChatStage) -> None:
    prepared = stage.prepare("Posso parcelar?", "pt", "en")
    assert prepared.glossary is not None
    assert any(r.kind == "term" and r.after == "pay in installments"
               for r in prepared.rewrites)
    room = Glossary("loja", mapped={"parcelar": {"en": "split the payment"}},
                    keep=["Frete Grátis Club"])
    merged = stage.prepare("Posso parcelar? Frete grátis club?", "pt", "en", room).glossary
    assert merged is not None and merged.name == "loja"
    terms = {t.text: t for t in merged.all_terms}
    assert terms["parcelar"].translations == {"en": "split the payment"}
    assert "frete grátis" not in terms  # inside a room term: the room's wins
    assert "cupom" in terms  # the rest of the pack is still there


# --- wired into the service ---------------------------------------------------------------

class Echo:
    name = "echo"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in {("pt", "en"), ("en", "pt")}

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.seen += texts
        return list(texts)


def test_the_service_runs_the_stage_around_the_engine() -> None:
    engine = Echo()
    service = TranslationService([engine], chat_stage=True)

    async def go() -> None:
        out = await service.translate_one("vc tem?", "pt", "en")
        assert engine.seen == ["Você tem?"] and out.text == "você tem?"
        assert (out.rewrites[0].kind, out.rewrites[0].before, out.rewrites[0].after) == \
            ("abbreviation", "vc", "você")
        raw = await service.translate_one("vc tem?", "pt", "en", normalise=False)
        assert engine.seen[-1] == "vc tem?" and raw.rewrites == ()
        calls = len(engine.seen)
        assert (await service.translate_one("kkkkk", "pt", "en")).text == "haha"
        assert len(engine.seen) == calls  # rendered by rule
        none = await service.translate_one("vc tem?", "pt", "ko")
        assert not none.translated and none.text == "vc tem?"

    asyncio.run(go())
    service.close()
    off = TranslationService([Echo()], chat_stage=False)
    assert off.chat is None
    off.close()


def test_every_kind_can_be_turned_off() -> None:
    for kind in KINDS:
        stage = ChatStage(kinds=set(KINDS) - {kind})
        prepared = stage.prepare("vc manda pra porto alegre?? gratis? lindooo kkkk", "pt", "en")
        assert kind not in {r.kind for r in prepared.rewrites}
