"""``babelcast models convert`` on tiny, randomly initialised Transformers models saved to a
local folder (Marian and M2M100), and the converted models against the originals: the
CTranslate2 engine, with babelcast's tokenisation and target prefixes, must produce the tokens
Transformers' own greedy ``generate`` produces.

Needs torch and transformers (the test extra); skipped without them, except under CI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from babelcast.gateway.cli import main
from babelcast.translation import CT2Options, CTranslate2Engine
from babelcast.translation.convert import (
    ConvertError,
    detect_family,
    marian_pair,
    multilingual_languages,
)
from babelcast.translation.toymodels import CHAT_LINES, train_sentencepiece

SAMPLES = ["how much is the red one?", "is shipping free to Brazil?", "price?",
           "quanto custa o vermelho?"]
NEW_TOKENS = 6
# float32 on both sides, fixed output length: the two runtimes must agree token for token.
# CTranslate2 stops a little before Transformers (ceil(0.01 * n) + extra, plus the prefix), so
# its tokens must be a prefix of what Transformers generated.
EXACT = CT2Options(device="cpu", compute_type="float32", max_length_ratio=0.01,
                   max_length_extra=NEW_TOKENS - 2)


@pytest.fixture(scope="session")
def hf() -> Any:
    """transformers, with torch; skipped when absent outside CI."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the converter tests need torch and transformers under CI: {exc}")
        pytest.skip(f"torch/transformers not installed ({exc.name})")
    torch.manual_seed(0)
    return transformers


def _spm_vocab(spm_path: Path, specials: list[str]) -> dict[str, int]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    vocab = {t: i for i, t in enumerate(specials)}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    return vocab


def _tiny(config_class: Any, **kw: Any) -> Any:
    return config_class(d_model=16, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2,
                        encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64, **kw)


def build_hf_marian(hf: Any, folder: Path, *, langs: tuple[str, str] | None) -> Path:
    folder.mkdir(parents=True)
    train_sentencepiece(folder / "source.spm")
    shutil.copyfile(folder / "source.spm", folder / "target.spm")
    vocab = _spm_vocab(folder / "source.spm", ["</s>", "<unk>"])
    vocab["<pad>"] = len(vocab)  # Transformers' Marian vocabularies end with <pad>
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tok = hf.MarianTokenizer(str(folder / "source.spm"), str(folder / "target.spm"),
                             str(folder / "vocab.json"), source_lang=langs and langs[0],
                             target_lang=langs and langs[1])
    model = hf.MarianMTModel(_tiny(hf.MarianConfig, vocab_size=len(vocab),
                                   pad_token_id=vocab["<pad>"], eos_token_id=vocab["</s>"],
                                   decoder_start_token_id=vocab["<pad>"]))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_hf_m2m100(hf: Any, folder: Path) -> Path:
    folder.mkdir(parents=True)
    train_sentencepiece(folder / "sentencepiece.bpe.model")
    vocab = _spm_vocab(folder / "sentencepiece.bpe.model", ["<s>", "<pad>", "</s>", "<unk>"])
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tok = hf.M2M100Tokenizer(str(folder / "vocab.json"), str(folder / "sentencepiece.bpe.model"),
                             src_lang="en", tgt_lang="pt", num_madeup_words=0)
    # The model's vocabulary holds the pieces and then the 100 language tokens (as in
    # facebook/m2m100_418M, whose vocabulary ends with them and a few made-up words).
    model = hf.M2M100ForConditionalGeneration(_tiny(
        hf.M2M100Config, vocab_size=max(tok.lang_token_to_id.values()) + 1, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, decoder_start_token_id=2))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hf_models(hf: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    return {
        "marian": build_hf_marian(hf, root / "tiny-marian", langs=("en", "pt")),
        "opus-named": build_hf_marian(hf, root / "opus-mt-en-es", langs=None),
        "anonymous": build_hf_marian(hf, root / "mystery", langs=None),
        "m2m100": build_hf_m2m100(hf, root / "tiny-m2m100"),
    }


@pytest.fixture(scope="session")
def converted(hf_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("converted")
    out = {"marian": root / "marian", "m2m100": root / "m2m100"}
    assert main(["models", "convert", str(hf_models["marian"]), "--out", str(out["marian"]),
                 "--quantization", "float32"]) == 0
    assert main(["models", "convert", str(hf_models["m2m100"]), "--out", str(out["m2m100"]),
                 "--quantization", "float32", "--languages", "en,pt,es,ko"]) == 0
    return out


def hf_generate(hf: Any, folder: Path, text: str, **kw: Any) -> list[str]:
    import torch

    tok = hf.AutoTokenizer.from_pretrained(str(folder))
    if "src_lang" in kw:
        tok.src_lang = kw.pop("src_lang")
    model = hf.AutoModelForSeq2SeqLM.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        ids = model.generate(**tok(text, return_tensors="pt"), num_beams=1, do_sample=False,
                             max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, **kw)[0]
    # Drop the decoder start token (and the forced language token, kept by the caller).
    return tok.convert_ids_to_tokens(ids.tolist())[1:]


def test_convert_writes_a_complete_marian_directory(converted: dict[str, Path]) -> None:
    out = converted["marian"]
    assert {"model.bin", "config.json", "shared_vocabulary.json", "source.spm", "target.spm",
            "manifest.json"} <= {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["family"] == "marian" and manifest["pairs"] == [["en", "pt"]]
    assert manifest["quantization"] == "float32" and manifest["origin"].endswith("tiny-marian")


def test_converted_marian_matches_transformers(hf: Any, hf_models: dict[str, Path],
                                               converted: dict[str, Path]) -> None:
    engine = CTranslate2Engine(converted["marian"], EXACT)
    pad = hf.AutoTokenizer.from_pretrained(str(hf_models["marian"])).pad_token_id
    for text in SAMPLES:
        # CTranslate2 drops Marian's <pad> from the vocabulary; forbid it on the other side.
        expected = hf_generate(hf, hf_models["marian"], text, bad_words_ids=[[pad]])
        (got,) = engine.translate_tokens([text], "en", "pt")
        assert len(got) >= 3 and got == expected[:len(got)], (text, got, expected)


def test_converted_m2m100_matches_transformers_with_target_prefix(
        hf: Any, hf_models: dict[str, Path], converted: dict[str, Path]) -> None:
    manifest = json.loads((converted["m2m100"] / "manifest.json").read_text())
    assert manifest["family"] == "m2m100" and manifest["languages"] == ["en", "es", "ko", "pt"]
    assert manifest["lang_tokens"]["pt"] == "__pt__"
    engine = CTranslate2Engine(converted["m2m100"], EXACT)
    tok = hf.AutoTokenizer.from_pretrained(str(hf_models["m2m100"]))
    for text in SAMPLES:
        for src, tgt in (("en", "pt"), ("pt", "ko")):
            expected = hf_generate(hf, hf_models["m2m100"], text, src_lang=src,
                                   forced_bos_token_id=tok.get_lang_id(tgt))
            (got,) = engine.translate_tokens([text], src, tgt)
            assert got[0] == f"__{tgt}__" == expected[0]
            assert len(got) >= 3 and got == expected[:len(got)], (text, src, tgt, got, expected)


def test_converted_model_serves_in_a_batch(converted: dict[str, Path]) -> None:
    engine = CTranslate2Engine(converted["m2m100"], CT2Options(device="cpu"))
    out = engine.translate_batch(list(CHAT_LINES[:8]), "en", "es")
    assert len(out) == 8 and all(isinstance(t, str) for t in out)


def test_marian_direction_from_the_opus_mt_name(hf_models: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["models", "convert", str(hf_models["opus-named"]), "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["pairs"] == [["en", "es"]]
    assert "en->es" in capsys.readouterr().out
    # int8 by default.
    assert CTranslate2Engine(out, CT2Options(device="cpu")).manifest.quantization == "int8"


def test_marian_without_a_direction_asks_for_pair(hf_models: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = ["models", "convert", str(hf_models["anonymous"]), "--out", str(tmp_path / "o")]
    assert main(args) == 1
    assert "--pair SRC-TGT" in capsys.readouterr().err
    assert main([*args, "--pair", "pt-en", "--force"]) == 0
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["pairs"] == [["pt", "en"]]


def test_convert_refuses_to_overwrite_without_force(converted: dict[str, Path],
                                                   hf_models: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "convert", str(hf_models["marian"]), "--out",
                 str(converted["marian"])]) == 1
    assert "--force" in capsys.readouterr().err


def test_convert_names_a_missing_tokenizer_file(hf_models: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = Path(shutil.copytree(hf_models["marian"], tmp_path / "broken"))
    (src / "target.spm").unlink()
    assert main(["models", "convert", str(src), "--out", str(tmp_path / "o")]) == 1
    assert "target.spm" in capsys.readouterr().err


def test_convert_refuses_unsupported_or_missing_models(hf: Any, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "convert", str(tmp_path / "nothing"), "--out",
                 str(tmp_path / "o")]) == 1
    assert "cannot read a Transformers model" in capsys.readouterr().err
    with pytest.raises(ConvertError, match="not supported"):
        detect_family("bert", "BertTokenizer")


def test_family_and_language_detection() -> None:
    assert detect_family("m2m_100", "NllbTokenizerFast") == "nllb"
    assert detect_family("m2m_100", "M2M100Tokenizer") == "m2m100"
    assert marian_pair("Helsinki-NLP/opus-mt-tc-big-en-pt", {}, None) == ("en", "pt")
    langs, tokens = multilingual_languages("nllb", ["eng_Latn", "por_Latn", "x"], None)
    assert langs == ["en", "pt"] and tokens == {"en": "eng_Latn", "pt": "por_Latn"}
    with pytest.raises(ConvertError, match="ko"):
        multilingual_languages("m2m100", ["__en__", "__pt__"], ["en", "ko"])
