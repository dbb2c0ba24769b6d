"""Glossary documents: validation (clear 4xx errors), JSON round trips, versions, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from babelcast.glossary import (
    MAX_JSON_BYTES,
    MAX_TERMS,
    Glossary,
    GlossaryError,
    Term,
    load_glossaries,
    load_glossary_file,
    next_version,
    parse_glossary,
)

DATA = Path(__file__).parents[1] / "data"

GOOD = {
    "description": "Glow shop",
    "case_sensitive": False,
    "terms": [
        "Glow Kit",
        {"term": "Pink Friday Nails"},
        {"term": "lip gloss", "translations": {"pt-BR": "gloss labial", "es": "brillo labial"}},
        {"term": "GLOW", "case_sensitive": True, "whole_word": False},
    ],
    "keep": ["Bella Pele"],
    "mapped": {"gel polish": {"pt": "esmalte em gel"}},
}


def error(data: object, name: str = "shop") -> GlossaryError:
    with pytest.raises(GlossaryError) as info:
        Glossary.from_json(data, name=name)
    assert 400 <= info.value.status < 500
    assert info.value.message
    return info.value


def test_from_json_and_back() -> None:
    g = Glossary.from_json(GOOD, name="shop")
    assert g.name == "shop" and g.version == 1
    by_text = {t.text: t for t in g.all_terms}
    assert set(by_text) == {"Glow Kit", "Pink Friday Nails", "lip gloss", "GLOW", "Bella Pele",
                            "gel polish"}
    assert by_text["lip gloss"].translations == {"pt": "gloss labial", "es": "brillo labial"}
    assert by_text["GLOW"] == Term("GLOW", {}, case_sensitive=True, whole_word=False)
    doc = g.to_json()
    assert doc["name"] == "shop" and doc["version"] == 1 and doc["fingerprint"] == g.fingerprint
    again = Glossary.from_json(json.loads(json.dumps(doc)), name="shop")
    assert again == g and again.fingerprint == g.fingerprint
    assert hash(again) == hash(g)


def test_name_version_and_fingerprint() -> None:
    g = Glossary.from_json({"name": "shop", "version": 7, "terms": ["A1 Kit"]})
    assert (g.name, g.version) == ("shop", 7)
    assert g.cache_id == f"shop:7:{g.fingerprint}"
    assert Glossary.from_json({"terms": ["A1 Kit"]}, name="other").fingerprint == g.fingerprint
    assert Glossary.from_json({"terms": ["A2 Kit"]}, name="shop").fingerprint != g.fingerprint
    assert error({"name": "a", "terms": ["x"]}, name="b").code == "invalid_glossary_name"
    assert error({"terms": ["x"]}, name="bad name!").code == "invalid_glossary_name"
    assert error({"terms": ["x"], "version": 0}).code == "invalid_glossary"
    assert error({"terms": ["x"], "version": "2"}).code == "invalid_glossary"


def test_next_version_bumps_only_on_change() -> None:
    v1 = Glossary.from_json({"terms": ["Glow Kit"]}, name="shop")
    assert next_version(None, v1) is v1
    same = Glossary.from_json({"terms": [{"term": "glow  kit"}]}, name="shop")
    assert same.fingerprint != v1.fingerprint  # spelling counts: "glow kit" vs "Glow Kit"
    same = Glossary.from_json({"terms": ["Glow  Kit"]}, name="shop")
    assert next_version(v1, same) is v1
    changed = Glossary.from_json({"terms": ["Glow Kit", "Lumi"]}, name="shop")
    v2 = next_version(v1, changed)
    assert v2.version == 2 and v2.fingerprint == changed.fingerprint
    assert v2.cache_id != v1.cache_id
    assert [t.text for t in v2.all_terms] == ["Glow Kit", "Lumi"]


@pytest.mark.parametrize(("data", "code"), [
    ([], "invalid_glossary"),
    ("Glow Kit", "invalid_glossary"),
    ({"terms": "Glow Kit"}, "invalid_glossary"),
    ({"terms": []}, "empty_term"),
    ({}, "empty_term"),
    ({"terms": [""]}, "empty_term"),
    ({"terms": ["   "]}, "empty_term"),
    ({"terms": [{"translations": {"pt": "x"}}]}, "empty_term"),
    ({"terms": [42]}, "invalid_term"),
    ({"terms": [None]}, "invalid_term"),
    ({"terms": ["a\nb"]}, "invalid_term"),
    ({"terms": ["..."]}, "invalid_term"),
    ({"terms": ["x" * 101]}, "term_too_long"),
    ({"terms": ["Nails.*"]}, "regex_in_term"),
    ({"terms": ["(Pink|Rosa) Nails"]}, "regex_in_term"),
    ({"terms": ["[Gg]low"]}, "regex_in_term"),
    ({"terms": ["glow\\d+"]}, "regex_in_term"),
    ({"terms": ["^Glow$"]}, "regex_in_term"),
    ({"terms": ["Glow.+"]}, "regex_in_term"),
    ({"terms": ["colou?r"]}, "regex_in_term"),
    ({"terms": ["Glow Kit", "glow kit"]}, "duplicate_term"),
    ({"keep": ["Glow"], "mapped": {"GLOW": {"pt": "Brilho"}}}, "duplicate_term"),
    ({"terms": [{"term": "lip gloss", "translations": {"xx": "y"}}]}, "unknown_language"),
    ({"terms": [{"term": "lip gloss", "translations": {"portuguese": "y"}}]},
     "unknown_language"),
    ({"terms": [{"term": "lip gloss", "translations": {"pt": ""}}]}, "invalid_translation"),
    ({"terms": [{"term": "lip gloss", "translations": {"pt": 3}}]}, "invalid_translation"),
    ({"terms": [{"term": "lip gloss", "translations": {"pt": "a", "pt-BR": "b"}}]},
     "invalid_translation"),
    ({"terms": [{"term": "lip gloss", "translations": ["pt", "gloss"]}]},
     "invalid_translation"),
    ({"terms": [{"term": "lip gloss", "translations": {"pt": "x" * 201}}]},
     "invalid_translation"),
    ({"terms": [{"term": "lip gloss", "translation": {"pt": "gloss"}}]}, "invalid_term"),
    ({"terms": [{"term": "Glow", "case_sensitive": "yes"}]}, "invalid_glossary"),
    ({"terms": ["Glow"], "whole_word": 1}, "invalid_glossary"),
    ({"terms": ["Glow"], "colour": "pink"}, "invalid_glossary"),
    ({"keep": "Glow"}, "invalid_glossary"),
    ({"mapped": ["Glow"]}, "invalid_glossary"),
])
def test_bad_input_gets_a_clear_error(data: object, code: str) -> None:
    assert error(data).code == code


def test_error_messages_say_what_is_wrong() -> None:
    exc = error({"terms": ["Glow", "Nails.*"]})
    assert "'Nails.*'" in exc.message and "literally" in exc.message
    exc = error({"terms": [{"term": "lip gloss", "translations": {"xx": "y"}}]})
    assert "'xx'" in exc.message and "ISO 639-1" in exc.message
    exc = error({"terms": [{"term": "a", "translation": {}}]})
    assert "did you mean 'translations'" in exc.message
    assert exc.to_json() == {"error": {"code": exc.code, "message": exc.message}}


def test_literal_punctuation_in_brand_names_is_fine() -> None:
    names = ["C++ Kit", "Dr. Jart+", "L'Oréal", "M&M's", "Ke$ha Glow", "Yves-Saint", "💅 Club",
             "100% Pure", "A/B Serum", "#1 Gloss"]
    g = Glossary.from_json({"terms": names}, name="shop")
    assert len(g.all_terms) == len(names)


def test_too_many_terms_is_413() -> None:
    exc = error({"terms": [f"t{i}" for i in range(MAX_TERMS + 1)]})
    assert (exc.code, exc.status) == ("too_many_terms", 413)
    with pytest.raises(GlossaryError) as info:
        Glossary("shop", keep=tuple(f"t{i}" for i in range(MAX_TERMS + 1)))
    assert info.value.status == 413


def test_parse_glossary_body() -> None:
    g = parse_glossary(json.dumps(GOOD).encode(), "shop")
    assert g.name == "shop"
    assert parse_glossary(json.dumps(GOOD), "shop", version=4).version == 4
    for body, code, status in [
        (b"{not json", "invalid_json", 400),
        (b"\xff\xfe\x00", "invalid_json", 400),
        (b"", "invalid_json", 400),
        (b"[1, 2]", "invalid_glossary", 422),
        (b" " * (MAX_JSON_BYTES + 1), "glossary_too_large", 413),
    ]:
        with pytest.raises(GlossaryError) as info:
            parse_glossary(body, "shop")
        assert (info.value.code, info.value.status) == (code, status), body[:20]
    with pytest.raises(GlossaryError) as info:
        parse_glossary(b'{"terms": ["x"]}', "../etc")
    assert info.value.code == "invalid_glossary_name"


def test_direct_construction_validates_too() -> None:
    with pytest.raises(GlossaryError):
        Glossary("shop", keep=("",))
    with pytest.raises(GlossaryError):
        Glossary("shop", mapped={"lip gloss": {"klingon": "x"}})
    with pytest.raises(GlossaryError):
        Glossary("", keep=("x",))
    g = Glossary("shop")  # an empty glossary is allowed in code (the seam's default)
    assert g.all_terms == () and g.matcher.size == 0


def test_load_glossary_files(tmp_path: Path) -> None:
    g = load_glossary_file(DATA / "glossary_chat_glossary.json")
    assert g.name == "glowshop" and len(g.all_terms) == 17
    (tmp_path / "brand-a.json").write_text(json.dumps({"terms": ["Glow Kit"]}))
    (tmp_path / "b.json").write_text(json.dumps({"name": "brand-b", "terms": ["Lumi"]}))
    (tmp_path / "notes.txt").write_text("ignored")
    found = load_glossaries([tmp_path, DATA / "glossary_chat_glossary.json"])
    assert sorted(found) == ["brand-a", "brand-b", "glowshop"]
    with pytest.raises(GlossaryError, match="defined twice"):
        load_glossaries([tmp_path, tmp_path / "brand-a.json"])
    (tmp_path / "bad.json").write_text('{"terms": ["Nails.*"]}')
    with pytest.raises(GlossaryError, match=r"bad\.json") as info:
        load_glossaries([tmp_path])
    assert info.value.code == "regex_in_term"
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(GlossaryError, match=r"bad\.json"):
        load_glossaries([tmp_path])
    with pytest.raises(GlossaryError, match=r"missing\.json"):
        load_glossary_file(tmp_path / "missing.json")
