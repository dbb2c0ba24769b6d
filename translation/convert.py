"""``babelcast models convert``: a Hugging Face model (id or local folder) -> a babelcast model
directory, through CTranslate2's Transformers converter.

This is the only code of babelcast that imports torch and transformers (the ``[convert]``
extra), and it does so lazily: the gateway never does.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babelcast.translation.families import FAMILIES, FamilyRegistry
from babelcast.translation.modeldir import MANIFEST, Manifest, ModelDirError

QUANTIZATIONS = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
                 "bfloat16", "float32")
_OPUS_NAME = re.compile(r"opus-mt-(?:tc-(?:big|base)-)?([a-z]{2,3})-([a-z]{2,3})$", re.I)


class ConvertError(RuntimeError):
    """Conversion cannot go on; the message says what to do."""


@dataclass(frozen=True)
class ConvertResult:
    """What ``convert_model`` produced."""

    out: Path
    manifest: Manifest


def _need_converter() -> tuple[Any, Any]:
    try:
        import transformers
        from ctranslate2.converters import TransformersConverter
    except ImportError as exc:
        raise ConvertError(
            f"converting models needs transformers and torch ({exc.name} is missing): "
            f"pip install 'babelcast[convert]' (on a machine without a GPU, install the CPU "
            f"build of torch first to avoid a multi-gigabyte download)") from None
    return transformers, TransformersConverter


def detect_family(model_type: str, tokenizer_class: str,
                  families: FamilyRegistry = FAMILIES) -> str:
    """The family (``marian``, ``nllb``, ``m2m100``, ...) of a checkpoint from config.json's
    ``model_type`` and tokenizer_config.json's ``tokenizer_class``, as the registry says
    (NLLB models are M2M100 models with their own tokenizer)."""
    family = families.from_transformers(model_type, tokenizer_class)
    if family is None:
        convertible = [f.title for f in families if f.hf_model_type]
        raise ConvertError(f"model type {model_type!r} is not supported: babelcast converts "
                           f"{', '.join(convertible)} models")
    return family.name


def marian_pair(source: str, tokenizer_config: dict[str, Any],
                pair: tuple[str, str] | None) -> tuple[str, str]:
    """The direction of a Marian model: ``pair`` if given, else the tokenizer's
    source_lang/target_lang, else the OPUS-MT name (``opus-mt-en-pt``)."""
    if pair:
        return pair
    src, tgt = tokenizer_config.get("source_lang"), tokenizer_config.get("target_lang")
    if isinstance(src, str) and isinstance(tgt, str) and len(src) == len(tgt) == 2:
        return src, tgt
    match = _OPUS_NAME.search(source.rstrip("/"))
    if match and len(match.group(1)) == len(match.group(2)) == 2:
        return match.group(1).lower(), match.group(2).lower()
    raise ConvertError(f"cannot tell which languages {source} translates: pass --pair SRC-TGT "
                       f"(ISO 639-1 codes, e.g. --pair en-pt)")


def multilingual_languages(family: str, vocabulary: Sequence[str], only: Sequence[str] | None,
                           families: FamilyRegistry = FAMILIES
                           ) -> tuple[list[str], dict[str, str]]:
    """The ISO 639-1 languages whose tokens are in the converted vocabulary, and their tokens
    (read with the family's language-token scheme). ``only`` narrows them; a language asked
    for that the model lacks is an error."""
    found = families.get(family).lang_tokens.found_in(vocabulary)
    if only:
        missing = [lang for lang in only if lang not in found]
        if missing:
            have = ", ".join(sorted(found)) or "none that babelcast knows"
            raise ConvertError(f"the model has no language token for {', '.join(missing)} "
                               f"(it has {have})")
        found = {lang: found[lang] for lang in only}
    if len(found) < 2:
        raise ConvertError("found fewer than two languages babelcast knows in the model's "
                           "vocabulary; pass --languages with the ones to serve")
    return sorted(found), found


def convert_model(source: str, out: str | Path, *, quantization: str = "int8",
                  force: bool = False, pair: tuple[str, str] | None = None,
                  languages: Sequence[str] | None = None, progress: bool = True) -> ConvertResult:
    """Convert ``source`` (a Hugging Face model id or a local folder with a Transformers
    model and its tokenizer) into the babelcast model directory ``out``: the CTranslate2 model
    quantized to ``quantization``, the SentencePiece files and ``manifest.json``."""
    if quantization not in QUANTIZATIONS:
        raise ConvertError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise ConvertError(f"{out} exists and is not empty: pass --force to overwrite it")
    steps = _progress(progress, total=5, desc=f"converting {source}")
    try:
        transformers, converter_class = _need_converter()
        steps.set_postfix_str("reading config")
        try:
            config = transformers.AutoConfig.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ConvertError(f"cannot read a Transformers model from {source}: {exc}") from None
        converter = converter_class(source, low_cpu_mem_usage=True)
        tok_config = _optional_json(converter, "tokenizer_config.json")
        family = FAMILIES.get(detect_family(getattr(config, "model_type", ""),
                                            str(tok_config.get("tokenizer_class", ""))))
        spm_files = family.spm_files
        for name in spm_files:
            try:
                converter.get_model_file(name)
            except (ValueError, OSError):
                raise ConvertError(f"{source} has no {name}: babelcast needs the model's "
                                   f"SentencePiece files to tokenize") from None
        direction = None if family.multilingual else marian_pair(source, tok_config, pair)
        steps.update()

        steps.set_postfix_str("converting weights (CTranslate2)")
        # copy_files: the converter puts the SentencePiece files next to model.bin.
        converter = _with_language_tokens(converter_class)(
            source, low_cpu_mem_usage=True, copy_files=list(spm_files))
        try:
            converter.convert(str(out), quantization=quantization, force=True)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConvertError(f"CTranslate2's converter failed on {source}: {exc}") from None
        steps.update()

        steps.set_postfix_str("checking tokenizer files")
        for name in spm_files:
            if not (out / name).is_file():  # older converters did not copy files
                shutil.copyfile(converter.get_model_file(name), out / name)
        steps.update()

        steps.set_postfix_str("writing manifest")
        if direction:
            manifest = Manifest(family=family.name, source_spm=spm_files[0],
                                target_spm=spm_files[-1], pairs=[direction], origin=source,
                                quantization=quantization)
        else:
            vocab = json.loads((out / "shared_vocabulary.json").read_text(encoding="utf-8"))
            langs, tokens = multilingual_languages(family.name, vocab, languages)
            manifest = Manifest(family=family.name, source_spm=spm_files[0],
                                target_spm=spm_files[-1], languages=langs, lang_tokens=tokens,
                                origin=source, quantization=quantization)
        manifest.write(out)
        steps.update()

        steps.set_postfix_str("loading the result")
        check_model(out, device="cpu", compute_type="auto", text=None)
        steps.update()
    finally:
        steps.close()
    return ConvertResult(out, manifest)


def check_model(model_dir: str | Path, *, device: str = "auto", compute_type: str = "auto",
                text: str | None = "How much is the red one?",
                pairs: Sequence[tuple[str, str]] | None = None) -> list[tuple[str, str, str]]:
    """Load ``model_dir`` and translate ``text`` along ``pairs`` (default: the first pair,
    or English to every language of a multilingual model). Returns (src, tgt, output) rows;
    raises ``ModelDirError`` naming the missing or corrupt file."""
    from babelcast.translation.ct2 import CT2Options, CTranslate2Engine

    engine = CTranslate2Engine(model_dir, CT2Options(device=device, compute_type=compute_type))
    if text is None:
        return []
    if pairs is None:
        all_pairs = engine.pairs()
        from_en = [p for p in all_pairs if p[0] == "en"]
        pairs = from_en[:3] if engine.multilingual and from_en else all_pairs[:1]
    rows = []
    for src, tgt in pairs:
        if not engine.supports(src, tgt):
            raise ModelDirError(f"{model_dir} does not translate {src}->{tgt} (see {MANIFEST})")
        (out,) = engine.translate_batch([text], src, tgt)
        rows.append((src, tgt, out))
    return rows


def _with_language_tokens(converter_class: Any) -> Any:
    """CTranslate2's converter builds an M2M100 vocabulary from ``tokenizer.get_vocab()``,
    which in recent Transformers no longer lists the ``__xx__`` language tokens (they sit
    after the SentencePiece pieces, at ``lang_token_to_id``): the converted model would lack
    every target prefix. This converter hands it a tokenizer whose vocabulary has them."""

    class LanguageTokensConverter(converter_class):  # type: ignore[misc, valid-type]
        def load_tokenizer(self, tokenizer_class: Any, model_name_or_path: str,
                           **kwargs: Any) -> Any:
            tokenizer = super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
            extra = getattr(tokenizer, "lang_token_to_id", None)
            if isinstance(extra, dict) and extra:
                vocab = tokenizer.get_vocab()
                if any(token not in vocab for token in extra):
                    return _VocabularyWithLanguages(tokenizer, {**extra, **vocab})
            return tokenizer

    return LanguageTokensConverter


class _VocabularyWithLanguages:
    """A tokenizer whose ``get_vocab`` includes its language tokens; all else delegates."""

    def __init__(self, tokenizer: Any, vocab: dict[str, int]) -> None:
        self._tokenizer = tokenizer
        self._vocab = vocab

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)


def _optional_json(converter: Any, name: str) -> dict[str, Any]:
    try:
        path = converter.get_model_file(name)
    except (ValueError, OSError):
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, desc: str) -> Any:
    if not enabled:
        return _NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm comes with transformers; without it, convert silently
        return _NoProgress()
    return tqdm(total=total, desc=desc, unit="step")
