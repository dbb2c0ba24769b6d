"""protect / restore / translate_protected with fake engines: what models do to placeholders
(drop, duplicate, reorder, re-space, translate them) never loses or duplicates a span."""

from __future__ import annotations

import importlib
import itertools
import random
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from babelcast.glossary import (
    Glossary,
    Protected,
    glossary_hits,
    protect,
    restore,
    translate_protected,
)
from babelcast.glossary.protect import assemble

G = Glossary("shop", keep=("Pink Friday Nails", "Glow Kit"),
             mapped={"lip gloss": {"pt": "gloss labial"}})
ISSUE = "@maria_silva olha esse 😍 https://shop.example.com/p/12"
RICH = ("Pink Friday Nails is $19.99 today! @host_ana is the lip gloss back? 👍🏽 "
        "https://shop.example.com/p/12 #glow code GLOW20")
RICH_SPANS = ["Pink Friday Nails", "$19.99", "@host_ana", "👍🏽", "https://shop.example.com/p/12",
              "#glow", "GLOW20"]
TOKEN = re.compile(r"(?<!\d)\d{5}(?!\d)")


def identity(batch: list[str]) -> list[str]:
    return list(batch)


def upper(batch: list[str]) -> list[str]:
    """A 'translation': every letter changes, placeholders survive."""
    return [t.upper() for t in batch]


def on_tokens(fn: Callable[[list[str]], list[str]]) -> Callable[[list[str]], list[str]]:
    """An engine that upper-cases the text and does ``fn`` to the list of placeholders."""
    def engine(batch: list[str]) -> list[str]:
        out = []
        for text in batch:
            tokens = TOKEN.findall(text)
            if not tokens:  # a piece of the fallback
                out.append(text.upper())
                continue
            rest = TOKEN.sub(" ", text).upper()
            out.append((rest + " " + " ".join(fn(tokens))).strip())
        return out
    return engine


def counts_once(text: str, spans: list[str]) -> None:
    for s in spans:
        assert text.count(s) == 1, (s, text)


# --- protect / restore ------------------------------------------------------------------------

def test_protect_replaces_spans_with_numbers_and_restore_puts_them_back() -> None:
    p = protect(ISSUE, G, "en")
    assert p.text == "73914 olha esse 75025"  # 😍 and the URL share one placeholder
    assert [s.text for s in p.spans] == ["@maria_silva", "😍", "https://shop.example.com/p/12"]
    assert restore(p.text, p) == ISSUE
    assert restore("73914 look at this 75025", p) == (
        "@maria_silva look at this 😍 https://shop.example.com/p/12")


def test_restore_accepts_respaced_numbers() -> None:
    p = protect(ISSUE, G, "en")
    out = "73.914 look at this 75 025"
    assert restore(out, p) == "@maria_silva look at this 😍 https://shop.example.com/p/12"
    assert translate_protected(ISSUE, G, "en", lambda b: [out]).fallback_used is False


def test_restore_repairs_dropped_and_duplicated_placeholders() -> None:
    p = protect(ISSUE, G, "en")
    assert restore("look at this 75025", p) == (
        "look at this 😍 https://shop.example.com/p/12 @maria_silva")
    assert restore("73914 look 73914 at this 75025 75025", p) == (
        "@maria_silva look at this 😍 https://shop.example.com/p/12")


def test_mapped_terms_become_their_target_form() -> None:
    r = translate_protected("is the lip gloss back?", G, "pt", identity)
    assert r.text == "is the gloss labial back?" and r.glossary_hits == ("lip gloss",)
    # No translation for the target: the model translates it, it is still a hit.
    r = translate_protected("is the lip gloss back?", G, "es", upper)
    assert r.text == "IS THE LIP GLOSS BACK?" and r.glossary_hits == ("lip gloss",)


def test_placeholders_stay_clear_of_numbers_in_the_text() -> None:
    text = "codes 73914 and 75.025 then @ana"
    p = protect(text, G, "pt")
    assert "73914" not in [u.token for u in p.units] and "75025" not in p.text.split()[-1]
    assert restore(p.text, p) == text
    assert translate_protected(text, G, "pt", identity).text == text


def test_spans_glued_to_words_are_padded_and_unpadded() -> None:
    text = "olha😍isso R$49,90cada"
    p = protect(text, G, "pt")
    assert p.text == "olha 73914 isso 75025 cada"
    assert restore(p.text, p) == text
    assert translate_protected(text, G, "en", upper).text == "OLHA😍ISSO R$49,90CADA"


def test_nothing_to_translate_skips_the_engine() -> None:
    def no_engine(batch: list[str]) -> list[str]:
        raise AssertionError("called")

    for text in ["😍😍", "@ana 👍🏽 https://x.example.com", "R$ 49,90!!", "", "  ", "123"]:
        r = translate_protected(text, G, "en", no_engine)
        assert r.text == text and not r.fallback_used


def test_text_without_spans_goes_through_as_is() -> None:
    calls: list[list[str]] = []

    def engine(batch: list[str]) -> list[str]:
        calls.append(batch)
        return [t.upper() for t in batch]

    r = translate_protected("hello there", None, "pt", engine)
    assert r == translate_protected("hello there", G, "pt", engine)
    assert r.text == "HELLO THERE" and calls == [["hello there"], ["hello there"]]
    assert r.glossary_hits == () and r.protected_spans == 0


# --- what models do to placeholders ---------------------------------------------------------

@pytest.mark.parametrize(("name", "engine", "fallback"), [
    ("identity", identity, False),
    ("upper", upper, False),
    ("reorder", on_tokens(lambda t: t[::-1]), False),
    ("drop first", on_tokens(lambda t: t[1:]), True),
    ("drop all", on_tokens(lambda t: []), True),
    ("duplicate", on_tokens(lambda t: t + t[:1]), True),
    ("translate into words", on_tokens(lambda t: ["seventy-three thousand", *t[1:]]), True),
    ("mangle", on_tokens(lambda t: [x[:3] for x in t]), True),
    ("glue", on_tokens(lambda t: ["".join(t)]), True),
    ("brackets", lambda b: [TOKEN.sub(lambda m: f"[{m.group()}]", t) for t in b], False),
])
def test_model_damage_never_loses_or_duplicates_a_span(name: str, engine, fallback: bool) -> None:
    r = translate_protected(RICH, G, "pt", engine)
    counts_once(r.text, [*RICH_SPANS, "gloss labial"])
    assert r.fallback_used is fallback, r.text
    assert r.glossary_hits == ("Pink Friday Nails", "lip gloss")
    if fallback:  # piece by piece: the spans are back in their places
        assert r.text.startswith("Pink Friday Nails IS $19.99 TODAY! @host_ana IS THE gloss")


def test_fallback_translates_the_pieces_in_one_batch() -> None:
    calls: list[list[str]] = []

    def drop(batch: list[str]) -> list[str]:
        calls.append(batch)
        return [TOKEN.sub("", t).upper() for t in batch]

    r = translate_protected(ISSUE, G, "en", drop)
    assert r.fallback_used and r.text == (
        "@maria_silva OLHA ESSE 😍 https://shop.example.com/p/12")
    assert calls == [["73914 olha esse 75025"], ["olha esse"]]


def test_engine_errors_propagate_and_bad_engines_are_caught() -> None:
    def broken(batch: list[str]) -> list[str]:
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        translate_protected(ISSUE, G, "en", broken)
    with pytest.raises(ValueError, match="returned 2 texts for 1"):
        translate_protected(ISSUE, G, "en", lambda b: ["a", "b"])


def test_a_failing_glossary_never_breaks_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Glossary("broken", keep=("Glow Kit",))

    def explode(text: str):
        raise RuntimeError("matcher bug")

    monkeypatch.setattr(g.matcher, "find", explode)
    r = translate_protected("the Glow Kit https://x.example.com 😍", g, "pt", upper)
    assert r.glossary_error == "RuntimeError: matcher bug"
    assert r.text == "THE GLOW KIT https://x.example.com 😍"  # still protected, without terms
    assert r.glossary_hits == ()
    assert glossary_hits("the Glow Kit", g) == ()


def test_a_failing_protection_still_translates(monkeypatch: pytest.MonkeyPatch) -> None:
    # (``glossary.protect`` the attribute is the function; the module is in sys.modules.)
    gp = importlib.import_module("babelcast.glossary.protect")

    def explode(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(gp, "find_spans", explode)
    r = translate_protected("the Glow Kit 😍", G, "pt", upper)
    assert r.text == "THE GLOW KIT 😍" and r.glossary_error == "RuntimeError: bug"


def test_old_seam_still_works() -> None:
    p = protect("hello @ana")
    assert isinstance(p, Protected) and restore(p.text, p) == "hello @ana"
    assert restore("x", Protected("x")) == "x"


# --- properties ---------------------------------------------------------------------------------

KEEP = Glossary("k", keep=("Pink Friday Nails", "Glow Kit", "粉红", "C++ Kit"))
POOL = ["@maria_silva", "#glow", "https://shop.example.com/p/12", "😍", "👍🏽", "👨‍👩‍👧",
        "🇧🇷", "R$ 49,90", "$19.99", "1.299,00 €", "GLOW20", "ana@example.com", "4829175",
        "Pink Friday Nails", "Glow Kit"]
WORDS = ["ola", "muito", "bom", "the", "price", "is", "great", "x", ",", "!", "?", "."]
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

chat_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("@#$€R,.:/ 0123456789😍👍🏽\u200d🇧🇷")),
    ),
    max_size=80,
) | st.lists(st.sampled_from(POOL + WORDS + [" ", ""]), max_size=12).map(" ".join)


@SETTINGS
@given(chat_text)
def test_identity_engine_round_trips_any_text(text: str) -> None:
    p = protect(text, KEEP, "pt")
    assert restore(p.text, p) == text
    r = translate_protected(text, KEEP, "pt", identity)
    assert r.text == text and not r.fallback_used
    spans = p.spans
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert [text[s.start:s.end] for s in spans] == [s.text for s in spans]


@SETTINGS
@given(chat_text, st.text(max_size=60), st.integers(0, 2**32))
def test_restore_keeps_every_unit_exactly_once_whatever_the_model_says(
        text: str, garbage: str, seed: int) -> None:
    p = protect(text, KEEP, "pt")
    rng = random.Random(seed)
    tokens = [u.token for u in p.units]
    words = garbage.split(" ")
    if tokens:
        words += rng.choices(tokens, k=rng.randint(0, 2 * len(tokens) + 1))
    rng.shuffle(words)
    pieces = assemble(" ".join(words), p, strict=False)
    assert pieces is not None
    units = sorted(i for i, _ in pieces if i is not None)
    assert units == list(range(len(p.units)))


@SETTINGS
@given(st.lists(st.sampled_from(POOL), unique=True, max_size=6),
       st.lists(st.lists(st.sampled_from(WORDS), max_size=4), min_size=7, max_size=7),
       st.integers(0, 2**32))
def test_hostile_engine_never_loses_or_duplicates_a_span(
        spans: list[str], gaps: list[list[str]], seed: int) -> None:
    parts = [" ".join(gaps[0])]
    for span, gap in zip(spans, gaps[1:], strict=False):
        parts += [span, " ".join(gap)]
    text = " ".join(parts)
    rng = random.Random(seed)

    def hostile(batch: list[str]) -> list[str]:
        out = []
        for t in batch:
            words = t.upper().split(" ")
            choice = rng.randrange(5)
            if choice == 0:
                words = [w for w in words if not TOKEN.fullmatch(w) or rng.random() < 0.5]
            elif choice == 1:
                words += [w for w in words if TOKEN.fullmatch(w)]
            elif choice == 2:
                rng.shuffle(words)
            elif choice == 3:
                words = [f"{w[:2]} {w[2:]}" if TOKEN.fullmatch(w) else w for w in words]
            out.append(" ".join(words))
        return out

    r = translate_protected(text, KEEP, "pt", hostile)
    counts_once(r.text, spans)
    assert r.glossary_hits == tuple(s for s in spans if s in ("Pink Friday Nails", "Glow Kit"))


def test_a_comment_of_only_mapped_terms_gets_their_translation_without_the_engine() -> None:
    from babelcast.glossary import Glossary, translate_protected

    g = Glossary("shop", mapped={"esgotou": {"en": "sold out"}})

    def engine(texts: list[str]) -> list[str]:
        raise AssertionError("no model is needed")

    out = translate_protected("Esgotou!! 😭 @ana", g, "en", engine)
    assert out.text == "sold out!! 😭 @ana"
    assert translate_protected("Esgotou", g, "pt", lambda ts: [t + "?" for t in ts]).text \
        == "Esgotou?"
