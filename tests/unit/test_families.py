"""The engine-family registry: a made-up family, registered in a fresh registry, is all the
manifest check, the language tokens, the source and target tokens and the converter's family
detection need; no other code learns its name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from babelcast.translation.convert import ConvertError, detect_family, multilingual_languages
from babelcast.translation.families import (
    FAMILIES,
    Family,
    FamilyRegistry,
    PatternLangTokens,
    TableLangTokens,
    UnknownFamily,
    default_lang_token,
    iso_from_token,
)
from babelcast.translation.modeldir import Manifest, ModelDirError, read_manifest

# A MADLAD-like family: one model for many languages, the target named by a "<2pt>" token at
# the start of the source, no target prefix.
TOY = Family(name="toy2", title="Toy-2", multilingual=True,
             lang_tokens=PatternLangTokens("<2", ">"), source_lead="target",
             target_prefix=False, spm_files=("toy.model",), hf_model_type="t5",
             hf_tokenizer="toy")
# A pair family with a table of tokens and a target prefix.
TABLED = Family(name="tabled", title="Tabled", multilingual=False,
                lang_tokens=TableLangTokens({"en": "@EN", "pt": "@PT"}), source_lead="source",
                target_prefix=True, spm_files=("src.spm", "tgt.spm"), hf_model_type="t5")


@pytest.fixture
def registry() -> FamilyRegistry:
    return FamilyRegistry([TOY, TABLED])


def test_a_registered_family_passes_the_manifest_check_with_its_own_tokens(
        registry: FamilyRegistry) -> None:
    m = Manifest(family="toy2", source_spm="toy.model", target_spm="toy.model",
                 languages=["en", "pt"], lang_tokens={"pt": "<2pt_BR>"}, families=registry)
    assert m.family_spec is TOY and m.multilingual
    # Defaults come from the family's scheme; the manifest's own tokens win.
    assert m.lang_tokens == {"en": "<2en>", "pt": "<2pt_BR>"}
    assert m.all_pairs() == [("en", "pt"), ("pt", "en")]
    # The JSON names the family only; reading it back with the same registry round-trips.
    data = json.loads(m.to_json())
    assert data["family"] == "toy2" and "families" not in data and "family_spec" not in data
    assert Manifest.from_dict(data, registry) == m


def test_the_default_registry_does_not_know_a_family_registered_elsewhere(
        registry: FamilyRegistry, tmp_path: Path) -> None:
    with pytest.raises(UnknownFamily, match="marian, nllb, m2m100, not 'toy2'"):
        Manifest(family="toy2", source_spm="a", target_spm="a", languages=["en", "pt"])
    with pytest.raises(ValueError, match="toy2, tabled, not 'nllb'"):
        Manifest(family="nllb", source_spm="a", target_spm="a", languages=["en", "pt"],
                 families=registry)
    Manifest(family="toy2", source_spm="toy.model", target_spm="toy.model",
             languages=["en", "pt"], families=registry).write(tmp_path)
    assert read_manifest(tmp_path, registry).family_spec is TOY
    with pytest.raises(ModelDirError, match=r"manifest\.json is invalid: family must be one of"):
        read_manifest(tmp_path)


def test_a_pair_family_needs_pairs_and_says_so_by_its_title(registry: FamilyRegistry) -> None:
    with pytest.raises(ValueError, match="a Tabled model needs at least one pair"):
        Manifest(family="tabled", source_spm="src.spm", target_spm="tgt.spm",
                 families=registry)
    m = Manifest(family="tabled", source_spm="src.spm", target_spm="tgt.spm",
                 pairs=[("en", "pt")], families=registry)
    assert not m.multilingual and m.all_pairs() == [("en", "pt")]
    assert m.lang_tokens == {"en": "@EN", "pt": "@PT"}  # the prefix needs the target's token
    with pytest.raises(ValueError, match="no tabled language token is known for 'ko'"):
        Manifest(family="tabled", source_spm="src.spm", target_spm="tgt.spm",
                 pairs=[("en", "ko")], families=registry)
    # A source without a token is fine: this family's source takes one only when known.
    m = Manifest(family="tabled", source_spm="src.spm", target_spm="tgt.spm",
                 pairs=[("ko", "pt")], families=registry)
    assert m.lang_tokens == {"pt": "@PT"}


def test_a_language_without_a_token_is_named(registry: FamilyRegistry) -> None:
    tabled_many = Family(name="tabled", title="Tabled", multilingual=True,
                         lang_tokens=TABLED.lang_tokens, source_lead="source",
                         target_prefix=True, spm_files=("x.spm",))
    with pytest.raises(ValueError, match="no tabled language token is known for 'ko'"):
        Manifest(family="tabled", source_spm="x.spm", target_spm="x.spm",
                 languages=["en", "ko"], families=FamilyRegistry([tabled_many]))


def test_language_tokens_follow_the_family_scheme(registry: FamilyRegistry) -> None:
    assert default_lang_token("toy2", "pt", registry) == "<2pt>"
    assert iso_from_token("toy2", "<2ko>", registry) == "ko"
    assert iso_from_token("toy2", "<2ast>", registry) is None  # no ISO 639-1 code
    assert iso_from_token("toy2", "<2>", registry) is None
    assert default_lang_token("tabled", "pt", registry) == "@PT"
    assert iso_from_token("tabled", "@EN", registry) == "en"
    assert default_lang_token("tabled", "ko", registry) is None
    langs, tokens = multilingual_languages("toy2", ["<2en>", "▁a", "<2pt>", "<2en>"], None,
                                           registry)
    assert langs == ["en", "pt"] and tokens == {"en": "<2en>", "pt": "<2pt>"}
    with pytest.raises(UnknownFamily):
        default_lang_token("toy2", "pt")  # the default registry


def test_source_and_target_tokens_follow_the_family(registry: FamilyRegistry) -> None:
    tokens = {"en": "<2en>", "pt": "<2pt>"}
    # Target token leads the source; nothing is forced on the target side.
    assert TOY.source_tokens(["▁hi"], "en", "pt", tokens) == ["<2pt>", "▁hi", "</s>"]
    assert TOY.prefix("pt", tokens) is None
    tabled = {"en": "@EN", "pt": "@PT"}
    assert TABLED.source_tokens(["▁hi"], "en", "pt", tabled) == ["@EN", "▁hi", "</s>"]
    assert TABLED.prefix("pt", tabled) == ["@PT"]
    # No token for the lead language: just the text and </s>.
    assert TOY.source_tokens(["▁hi"], "en", "pt", {}) == ["▁hi", "</s>"]


def test_conversion_detects_the_family_from_the_registry(registry: FamilyRegistry) -> None:
    # A family naming its tokenizer wins over one taking any, whatever the order.
    assert detect_family("t5", "ToyTokenizerFast", registry) == "toy2"
    assert detect_family("t5", "T5Tokenizer", registry) == "tabled"
    with pytest.raises(ConvertError, match="babelcast converts Toy-2, Tabled models"):
        detect_family("marian", "MarianTokenizer", registry)
    with pytest.raises(ConvertError, match="not supported"):
        detect_family("t5", "T5Tokenizer")  # the default registry has no t5 family


def test_the_shipped_families_and_registration_rules() -> None:
    assert FAMILIES.names() == ("marian", "nllb", "m2m100")
    assert [f.name for f in FAMILIES if f.multilingual] == ["nllb", "m2m100"]
    assert detect_family("m2m_100", "NllbTokenizerFast") == "nllb"
    assert detect_family("marian", "MarianTokenizer") == "marian"
    registry = FamilyRegistry([TOY])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(TOY)
    assert registry.register(TABLED) is TABLED and "tabled" in registry
    with pytest.raises(ValueError, match="source_lead"):
        Family(name="bad", title="Bad", multilingual=True, lang_tokens=TOY.lang_tokens,
               source_lead="middle", target_prefix=True,  # type: ignore[arg-type]
               spm_files=("x",))
