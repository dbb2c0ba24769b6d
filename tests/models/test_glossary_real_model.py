"""The real embedded en<->pt model on realistic chat comments: with protection every span
comes back exactly once and every mapped term in its target form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from babelcast.glossary import Glossary, find_spans, load_glossary_file, translate_protected
from babelcast.glossary.spans import TERM
from babelcast.translation import EmbeddedEngine

DATA = Path(__file__).parents[1] / "data"
ROWS = [json.loads(line) for line in
        (DATA / "glossary_chat_en_pt.jsonl").read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def engine() -> Iterator[EmbeddedEngine]:
    yield EmbeddedEngine()


@pytest.fixture(scope="module")
def shop() -> Glossary:
    return load_glossary_file(DATA / "glossary_chat_glossary.json")


def test_the_data_set() -> None:
    assert len(ROWS) >= 60
    assert {(r["src"], r["tgt"]) for r in ROWS} == {("en", "pt"), ("pt", "en")}
    assert sum(r["src"] == "pt" for r in ROWS) >= 30
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    kinds = {s.kind for r in ROWS for s in find_spans(r["text"])}
    assert kinds == {"url", "email", "mention", "hashtag", "emoji", "price", "code"}


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_detection_matches_the_data_set(row: dict, shop: Glossary) -> None:
    spans = find_spans(row["text"], shop, row["tgt"])
    assert [s.text for s in spans if s.output == s.text] == row["keep"]
    assert {s.text: s.output for s in spans if s.output and s.output != s.text} == row["mapped"]


def test_every_span_survives_the_real_model(engine: EmbeddedEngine, shop: Glossary) -> None:
    lost = []
    for row in ROWS:
        src, tgt = row["src"], row["tgt"]
        r = translate_protected(row["text"], shop, tgt,
                                lambda b, s=src, t=tgt: engine.translate_batch(b, s, t))
        wanted = row["keep"] + list(row["mapped"].values())
        lost += [(row["id"], w, r.text) for w in wanted if r.text.count(w) != 1]
        terms = [s.term for s in find_spans(row["text"], shop, tgt) if s.kind == TERM]
        assert r.glossary_hits == tuple(terms)
        assert r.text != row["text"], "not translated"
    assert lost == []


def test_the_issue_example(engine: EmbeddedEngine, shop: Glossary) -> None:
    text = "@maria_silva olha esse 😍 https://shop.example.com/p/12"
    r = translate_protected(text, shop, "en", lambda b: engine.translate_batch(b, "pt", "en"))
    assert r.text.startswith("@maria_silva ")
    assert r.text.endswith(" 😍 https://shop.example.com/p/12")
    r = translate_protected("Pink Friday Nails chegou! Amei o gloss labial", shop, "en",
                            lambda b: engine.translate_batch(b, "pt", "en"))
    assert "Pink Friday Nails" in r.text and "lip gloss" in r.text
    assert "Unhas" not in r.text


def test_fallback_with_the_real_model(engine: EmbeddedEngine, shop: Glossary) -> None:
    """A model that loses placeholders: the pieces between the spans go to the real model."""
    calls = 0

    def lossy(batch: list[str], src: str, tgt: str) -> list[str]:
        nonlocal calls
        calls += 1
        out = engine.translate_batch(batch, src, tgt)
        return [" ".join(w for w in t.split() if not w.strip(".,!?").isdigit()) for t in out]

    for row in ROWS[::8]:
        src, tgt = row["src"], row["tgt"]
        r = translate_protected(row["text"], shop, tgt, lambda b, s=src, t=tgt: lossy(b, s, t))
        assert r.fallback_used
        for w in row["keep"] + list(row["mapped"].values()):
            assert r.text.count(w) == 1, (w, r.text)
    assert calls == 2 * len(ROWS[::8])
