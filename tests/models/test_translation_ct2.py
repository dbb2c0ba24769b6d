"""The CTranslate2 engine on tiny real models: a SentencePiece model trained on a few chat lines
and a CTranslate2 Transformer with random weights, built with numpy in well under a second.
Their output is gibberish, but tokenisation, target prefixes, batching and detokenisation are
the production code paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from babelcast.gateway.node import load_engines
from babelcast.gateway.settings import Settings, SettingsError
from babelcast.translation import (
    CT2Options,
    CTranslate2Engine,
    EmbeddedEngine,
    EngineError,
    ModelDirError,
    Router,
)
from babelcast.translation.config import (
    ModelsConfigError,
    load_engines_from_config,
    load_models_config,
)
from babelcast.translation.families import (
    Family,
    FamilyRegistry,
    PatternLangTokens,
    default_lang_token,
    iso_from_token,
)
from babelcast.translation.langcodes import NLLB_CODES
from babelcast.translation.toymodels import CHAT_LINES, build_random_model

# Output length independent of the batch's longest input: batched == one at a time, exactly.
FIXED_LENGTH = CT2Options(device="cpu", max_length_ratio=0.01, max_length_extra=6)


@pytest.fixture(scope="session")
def toy_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny model of each family, built once per test session."""
    root = tmp_path_factory.mktemp("toy-models")
    return {
        "marian": build_random_model(root / "marian-en-pt", family="marian",
                                     pairs=[("en", "pt")]),
        "marian-pt-en": build_random_model(root / "marian-pt-en", family="marian",
                                           pairs=[("pt", "en")], seed=1),
        "nllb": build_random_model(root / "nllb", family="nllb", languages=("en", "pt", "es")),
        "m2m100": build_random_model(root / "m2m100", family="m2m100",
                                     languages=("en", "pt", "es", "ko"), seed=2),
    }


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_marian_engine_translates_a_batch_in_order(toy_models: dict[str, Path]) -> None:
    engine = CTranslate2Engine(toy_models["marian"], FIXED_LENGTH)
    assert engine.pairs() == [("en", "pt")] and not engine.multilingual
    assert engine.device == "cpu" and engine.compute_type == "int8"
    texts = list(CHAT_LINES[:12])
    batch = engine.translate_batch(texts, "en", "pt")
    assert len(batch) == len(texts) and all(isinstance(t, str) and t for t in batch)
    # The same model run one text at a time gives the same outputs, in the same order.
    assert batch == [engine.translate_batch([t], "en", "pt")[0] for t in texts]
    assert len(set(batch)) > 1  # the random model is not ignoring its input
    with pytest.raises(EngineError, match="does not translate"):
        engine.translate_batch(["hi"], "pt", "en")


def test_empty_texts_skip_the_model(toy_models: dict[str, Path]) -> None:
    engine = CTranslate2Engine(toy_models["marian"], FIXED_LENGTH)
    out = engine.translate_batch(["", "price?", "   "], "en", "pt")
    assert out[0] == "" and out[2] == "   " and out[1].strip()


@pytest.mark.parametrize(("family", "token"), [("nllb", "por_Latn"), ("m2m100", "__pt__")])
def test_multilingual_models_take_the_target_language_as_prefix(
        toy_models: dict[str, Path], family: str, token: str) -> None:
    engine = CTranslate2Engine(toy_models[family], FIXED_LENGTH)
    assert engine.multilingual and engine.supports("en", "pt") and engine.supports("pt", "es")
    assert not engine.supports("en", "en") and not engine.supports("en", "ja")
    hyps = engine.translate_tokens(["how much is the red one?", "price?"], "en", "pt")
    assert [h[0] for h in hyps] == [token, token]
    other = engine.translate_tokens(["how much is the red one?"], "en", "es")[0]
    assert other[0] == default_lang_token(family, "es")
    # The source carries the source language token first and </s> last.
    src_tokens = engine._source_tokens(["▁price", "?"], "en", "pt")
    assert src_tokens == [default_lang_token(family, "en"), "▁price", "?", "</s>"]
    # Language tokens never reach the viewer.
    (text,) = engine.translate_batch(["how much is the red one?"], "en", "pt")
    assert token not in text and "</s>" not in text


def test_length_buckets_give_each_comment_a_limit_relative_to_its_own_length(
        toy_models: dict[str, Path]) -> None:
    texts = ["price?", "I just bought two of them for my sister, is shipping free to Brazil?",
             *CHAT_LINES[:6]]  # length buckets apply to batches of 8 or more
    plain = CTranslate2Engine(toy_models["marian"], CT2Options(
        device="cpu", max_length_ratio=1.0, max_length_extra=1))
    bucketed = CTranslate2Engine(toy_models["marian"], CT2Options(
        device="cpu", max_length_ratio=1.0, max_length_extra=1, length_buckets=1.5))
    short_limit = len(plain._source_tokens(plain._sp_source.encode(texts[0], out_type=str),
                                           "en", "pt")) + 1
    short, long, *rest = bucketed.translate_tokens(texts, "en", "pt")
    assert 1 <= len(short) <= short_limit < len(long)
    # Without buckets the batch's longest input sets everyone's limit.
    assert len(plain.translate_tokens(texts, "en", "pt")[0]) > short_limit
    # Small batches are not split.
    assert len(bucketed.translate_tokens(texts[:2], "en", "pt")[0]) > short_limit
    # Batched outputs come back in input order.
    assert bucketed.translate_tokens(texts[::-1], "en", "pt") == [*rest[::-1], long, short]
    with pytest.raises(ValueError, match="length_buckets"):
        CT2Options(length_buckets=1.0)


def test_language_codes_map_iso_639_1_to_model_tokens() -> None:
    assert default_lang_token("nllb", "pt") == "por_Latn"
    assert default_lang_token("nllb", "zh") == "zho_Hans"
    assert default_lang_token("m2m100", "pt") == "__pt__"
    assert default_lang_token("marian", "pt") is None
    assert iso_from_token("nllb", "kor_Hang") == "ko"
    assert iso_from_token("m2m100", "__ko__") == "ko"
    assert iso_from_token("m2m100", "__ast__") is None  # no ISO 639-1 code
    assert len(set(NLLB_CODES.values())) >= len(NLLB_CODES) - 2  # nb/no share one


def test_a_family_registered_elsewhere_drives_the_engine(tmp_path: Path) -> None:
    """A made-up family (target token leading the source, no target prefix), registered in
    a fresh registry, builds, loads and runs with no other code knowing it."""
    toy = Family(name="toy2", title="Toy-2", multilingual=True,
                 lang_tokens=PatternLangTokens("<2", ">"), source_lead="target",
                 target_prefix=False, spm_files=("toy.model",))
    families = FamilyRegistry([toy])
    model = build_random_model(tmp_path / "toy2", family="toy2", languages=("en", "pt"),
                               families=families)
    engine = CTranslate2Engine(model, FIXED_LENGTH, families=families)
    assert engine.multilingual and engine.pairs() == [("en", "pt"), ("pt", "en")]
    assert engine._source_tokens(["▁price"], "en", "pt") == ["<2pt>", "▁price", "</s>"]
    (text,) = engine.translate_batch(["price?"], "en", "pt")
    assert isinstance(text, str) and "<2pt>" not in text
    with pytest.raises(ModelDirError, match="family must be one of"):
        CTranslate2Engine(model, FIXED_LENGTH)


def test_languages_narrow_a_multilingual_model(toy_models: dict[str, Path]) -> None:
    engine = CTranslate2Engine(toy_models["m2m100"], FIXED_LENGTH, languages=["en", "ko"])
    assert engine.pairs() == [("en", "ko"), ("ko", "en")]
    with pytest.raises(ModelDirError, match="none of the languages"):
        CTranslate2Engine(toy_models["m2m100"], FIXED_LENGTH, languages=["ja", "zh"])


def test_router_prefers_pair_model_then_multilingual_then_pivot(
        toy_models: dict[str, Path]) -> None:
    marian = CTranslate2Engine(toy_models["marian"], FIXED_LENGTH)
    nllb = CTranslate2Engine(toy_models["nllb"], FIXED_LENGTH)
    back = CTranslate2Engine(toy_models["marian-pt-en"], FIXED_LENGTH)
    # The multilingual model is listed first, and still loses to the pair model.
    router = Router([nllb, marian, back])
    assert [h[0] for h in router.route("en", "pt").hops] == [marian]
    assert [h[0] for h in router.route("pt", "en").hops] == [back]
    assert [h[0] for h in router.route("es", "pt").hops] == [nllb]
    assert router.route("ko", "pt") is None
    pivot = Router([back, CTranslate2Engine(toy_models["m2m100"], FIXED_LENGTH,
                                            languages=["en", "ko"])])
    route = pivot.route("pt", "ko")
    assert route is not None
    assert [(h[1], h[2]) for h in route.hops] == [("pt", "en"), ("en", "ko")]


def test_missing_model_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match="does not exist"):
        CTranslate2Engine(tmp_path / "nope")
    with pytest.raises(ModelDirError, match=r"manifest\.json is missing.*models convert"):
        CTranslate2Engine(tmp_path)


@pytest.mark.parametrize("victim", ["model.bin", "config.json", "shared_vocabulary.json",
                                    "source.spm", "target.spm"])
def test_a_missing_file_is_named(toy_models: dict[str, Path], tmp_path: Path,
                                 victim: str) -> None:
    model = copy_model(toy_models["marian"], tmp_path / "m")
    (model / victim).unlink()
    with pytest.raises(ModelDirError, match=victim.replace(".", r"\.")):
        CTranslate2Engine(model, FIXED_LENGTH)


@pytest.mark.parametrize(("victim", "content"), [
    ("model.bin", b"\x00garbage, not a CTranslate2 model" * 10),
    ("source.spm", b"not a sentencepiece model"),
    ("manifest.json", b"{not json"),
    ("config.json", b"{not json"),
    ("model.bin", b""),
])
def test_a_corrupt_file_is_named(toy_models: dict[str, Path], tmp_path: Path, victim: str,
                                 content: bytes) -> None:
    model = copy_model(toy_models["marian"], tmp_path / "m")
    (model / victim).write_bytes(content)
    with pytest.raises(ModelDirError, match=victim.replace(".", r"\.")) as err:
        CTranslate2Engine(model, FIXED_LENGTH)
    assert "again" in str(err.value) or "invalid" in str(err.value)


def test_truncated_model_bin_is_named(toy_models: dict[str, Path], tmp_path: Path) -> None:
    model = copy_model(toy_models["nllb"], tmp_path / "m")
    data = (model / "model.bin").read_bytes()
    (model / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelDirError, match=r"model\.bin"):
        CTranslate2Engine(model, FIXED_LENGTH)


def test_a_language_token_missing_from_the_vocabulary_is_named(
        toy_models: dict[str, Path], tmp_path: Path) -> None:
    model = copy_model(toy_models["nllb"], tmp_path / "m")
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["languages"].append("ja")
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelDirError, match="jpn_Jpan"):
        CTranslate2Engine(model, FIXED_LENGTH)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="device"):
        CT2Options(device="tpu")
    with pytest.raises(ValueError, match="compute_type"):
        CT2Options(compute_type="int3")
    assert CT2Options().with_overrides(beam_size=4, device=None).beam_size == 4


def write_models_file(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_models_file_loads_models_in_order_relative_to_the_file(
        toy_models: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    copy_model(toy_models["marian"], root / "models" / "en-pt")
    copy_model(toy_models["nllb"], root / "models" / "nllb")
    cfg = load_models_config(write_models_file(root / "models.toml", """
[embedded]
enabled = false

[[models]]
path = "models/en-pt"
name = "opus-en-pt"

[[models]]
path = "models/nllb"
languages = ["en", "es"]
compute_type = "float32"
beam_size = 2
"""))
    assert not cfg.embedded and [m.path for m in cfg.models] == [
        root / "models" / "en-pt", root / "models" / "nllb"]
    engines = load_engines_from_config(cfg, CT2Options(device="cpu"))
    assert [e.name for e in engines] == ["opus-en-pt", "ct2:nllb"]
    nllb = engines[1]
    assert isinstance(nllb, CTranslate2Engine)
    assert nllb.compute_type == "float32" and nllb.options.beam_size == 2
    assert nllb.pairs() == [("en", "es"), ("es", "en")]


@pytest.mark.parametrize(("body", "message"), [
    ("[[models]]\npath = 3\n", "path"),
    ("[[models]]\npath = 'x'\ndevise = 'cpu'\n", "devise"),
    ("[[models]]\npath = 'x'\ndevice = 'tpu'\n", "device"),
    ("[[models]]\npath = 'x'\nlanguages = 'en'\n", "languages"),
    ("[embedded]\nenabled = false\n", "no model"),
    ("[model]\npath = 'x'\n", "unknown table"),
    ("[[models]\n", "not valid TOML"),
])
def test_models_file_errors_name_the_file_and_entry(tmp_path: Path, body: str,
                                                    message: str) -> None:
    path = write_models_file(tmp_path / "models.toml", body)
    with pytest.raises(ModelsConfigError, match=message) as err:
        load_models_config(path)
    assert str(path) in str(err.value)


def test_a_model_that_fails_to_load_stops_start_up_naming_the_entry(tmp_path: Path) -> None:
    path = write_models_file(tmp_path / "models.toml", "[[models]]\npath = 'missing'\n")
    with pytest.raises(ModelsConfigError, match=r"models\[0\].*missing.*does not exist"):
        load_engines_from_config(load_models_config(path), CT2Options())


def test_gateway_settings_load_the_models_file(toy_models: dict[str, Path],
                                               tmp_path: Path) -> None:
    models = write_models_file(tmp_path / "models.toml",
                               f"[[models]]\npath = '{toy_models['nllb']}'\n")
    settings = Settings.from_env({"BABELCAST_MODELS": str(models),
                                  "BABELCAST_DEVICE": "cpu", "BABELCAST_BEAM_SIZE": "2"})
    engines = load_engines(settings)
    assert isinstance(engines[0], CTranslate2Engine) and engines[0].options.beam_size == 2
    # The embedded default stays, after the configured models.
    assert isinstance(engines[-1], EmbeddedEngine) and len(engines) == 2
    assert load_engines(settings.replace(engine="none")) == []
    with pytest.raises(SettingsError, match="models file"):
        Settings(models=str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match="device"):
        Settings(device="tpu")
    assert Settings(priority_langs="en, pt,").priority_lang_set == {"en", "pt"}


def test_nothing_configured_means_the_embedded_engine() -> None:
    settings = Settings.from_env({})
    assert settings.models == "" and settings.engine == "embedded"
    engines = load_engines(settings)
    assert len(engines) == 1 and isinstance(engines[0], EmbeddedEngine)
