"""``CTranslate2Engine``: a quantized Transformer model (Marian/OPUS-MT, NLLB-200, M2M100) run by
CTranslate2 on CPU or GPU, behind the same ``Engine`` seam as the embedded default. How a
family's language tokens drive the model (source lead token, target prefix) is the family's
own (``families.py``)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from babelcast.translation.engine import EngineError
from babelcast.translation.families import FamilyRegistry
from babelcast.translation.modeldir import Manifest, ModelDirError, inspect_model_dir

DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = ("auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                 "int16", "float16", "bfloat16", "float32")
# Tokens a hypothesis may contain that are not text (never passed to SentencePiece).
_SPECIALS = frozenset({"<s>", "</s>", "<pad>", "<unk>"})
_MIN_SPLIT_BATCH = 8  # length_buckets splits batches of at least this many comments


@dataclass(frozen=True)
class CT2Options:
    """How a model runs. The knobs are CTranslate2's own (``ctranslate2.Translator`` and
    ``translate_batch``), with defaults for live chat."""

    device: str = "auto"          # auto: CUDA when a GPU is visible, else CPU
    compute_type: str = "auto"    # auto: int8 on CPU, int8_float16 on CUDA
    device_index: int = 0
    inter_threads: int = 1        # batches this model runs at the same time
    intra_threads: int = 0        # threads per batch (0: CTranslate2 chooses)
    beam_size: int = 1            # greedy: chat is short and latency matters more than BLEU
    max_length_ratio: float = 1.5  # output may be this many times the longest input...
    max_length_extra: int = 8      # ...plus this many tokens
    max_input_length: int = 256   # longer inputs are truncated (chat comments are short)
    length_buckets: float = 0.0   # >1: split batches by input length (this ratio), see below

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.compute_type not in COMPUTE_TYPES:
            raise ValueError(f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, "
                             f"not {self.compute_type!r}")
        if self.inter_threads < 1 or self.intra_threads < 0 or self.beam_size < 1:
            raise ValueError("inter_threads and beam_size must be >= 1, intra_threads >= 0")
        if self.max_length_ratio <= 0 or self.max_length_extra < 0:
            raise ValueError("max_length_ratio must be > 0 and max_length_extra >= 0")
        if self.length_buckets != 0 and self.length_buckets <= 1:
            raise ValueError("length_buckets must be 0 (off) or a ratio > 1, e.g. 1.5")

    def with_overrides(self, **changes: Any) -> CT2Options:
        """A copy with the given (non-None) fields changed."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when CTranslate2 sees a GPU, else ``cpu``."""
    import ctranslate2

    if device == "auto":
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
        raise EngineError("device 'cuda' was asked for but CTranslate2 sees no CUDA GPU "
                          "(check the driver and CUDA_VISIBLE_DEVICES, or use --device cpu)")
    return device


def resolve_compute_type(device: str, compute_type: str) -> str:
    """``auto`` -> int8 on CPU, int8_float16 on CUDA (float16 where the GPU lacks int8)."""
    import ctranslate2

    if compute_type != "auto":
        return compute_type
    supported = ctranslate2.get_supported_compute_types(device)
    preferred = ("int8",) if device == "cpu" else ("int8_float16", "float16")
    return next((c for c in preferred if c in supported), "default")


class CTranslate2Engine:
    """One CTranslate2 model directory as an ``Engine``. Thread-safe: CTranslate2's translator
    runs up to ``inter_threads`` batches at once and queues the rest; SentencePiece encoding is
    read-only. ``languages`` narrows a multilingual model to the languages to serve;
    ``families`` is the registry the manifest's family is looked up in (default: babelcast's)."""

    def __init__(self, model_dir: str | Path, options: CT2Options | None = None, *,
                 name: str | None = None, languages: Iterable[str] | None = None,
                 families: FamilyRegistry | None = None) -> None:
        try:
            import ctranslate2
            import sentencepiece as spm
        except ImportError as exc:  # pragma: no cover - packaging problem
            raise EngineError(f"the CTranslate2 engine needs ctranslate2 and sentencepiece: "
                              f"pip install ctranslate2 sentencepiece ({exc})") from exc
        self.model_dir = Path(model_dir)
        self.options = options or CT2Options()
        self.manifest: Manifest = inspect_model_dir(self.model_dir, families)
        self.name = name or f"ct2:{self.model_dir.name}"
        self.family = self.manifest.family
        self._family = self.manifest.family_spec
        self.multilingual = self.manifest.multilingual
        self._pairs = set(self.manifest.all_pairs())
        if languages is not None:
            keep = set(languages)
            self._pairs = {(s, t) for s, t in self._pairs if s in keep and t in keep}
            if not self._pairs:
                raise ModelDirError(f"{self.model_dir} translates none of the languages "
                                    f"{', '.join(sorted(keep))} asked for")
        self._sp_source = self._load_spm(spm, self.manifest.source_spm)
        self._sp_target = (self._sp_source if self.manifest.target_spm == self.manifest.source_spm
                           else self._load_spm(spm, self.manifest.target_spm))
        self._lang_tokens = dict(self.manifest.lang_tokens)
        self._check_vocabulary()
        self.device = resolve_device(self.options.device)
        self.compute_type = resolve_compute_type(self.device, self.options.compute_type)
        try:
            self._translator = ctranslate2.Translator(
                str(self.model_dir), device=self.device, device_index=self.options.device_index,
                compute_type=self.compute_type, inter_threads=self.options.inter_threads,
                intra_threads=self.options.intra_threads)
        except (RuntimeError, ValueError, OSError) as exc:
            if "memory" in str(exc).lower() or "cuda" in str(exc).lower():
                raise EngineError(f"{self.model_dir} could not be loaded on {self.device} "
                                  f"({exc}): free memory on the device, use a smaller compute "
                                  f"type, or --device cpu") from None
            raise ModelDirError(f"{self.model_dir / 'model.bin'} could not be loaded by "
                                f"CTranslate2 ({exc}); the file is corrupt, truncated or from an "
                                f"incompatible converter. Convert the model again") from None
        # The batcher runs this many batches of this model at once; more would only queue
        # inside CTranslate2 while holding a worker thread.
        self.max_concurrency = self.options.inter_threads

    def _load_spm(self, spm: Any, filename: str) -> Any:
        path = self.model_dir / filename
        try:
            return spm.SentencePieceProcessor(model_file=str(path))
        except (RuntimeError, OSError) as exc:
            raise ModelDirError(f"{path} is not a valid SentencePiece model ({exc}); copy the "
                                f"tokenizer file again or re-run `babelcast models convert`"
                                ) from None

    def _check_vocabulary(self) -> None:
        """The language tokens the manifest relies on must exist in the model's vocabulary,
        else every translation would silently go wrong."""
        if not self._lang_tokens:
            return
        vocab = _read_target_vocabulary(self.model_dir)
        missing = sorted(t for lang, t in self._lang_tokens.items()
                         if t not in vocab and any(lang in p for p in self._pairs))
        if missing:
            raise ModelDirError(f"language tokens {', '.join(missing)} from "
                                f"{self.model_dir / 'manifest.json'} are not in the model's "
                                f"vocabulary: fix lang_tokens or the languages list")

    def pairs(self) -> list[tuple[str, str]]:
        """The language pairs this engine covers."""
        return sorted(self._pairs)

    def supports(self, src: str, tgt: str) -> bool:
        """Whether the model translates ``src`` -> ``tgt``."""
        return (src, tgt) in self._pairs

    def warm_up(self) -> None:
        """Run one tiny batch so the first viewer does not pay for lazy initialisation."""
        src, tgt = self.pairs()[0]
        self.translate_batch(["hello"], src, tgt)

    def _source_tokens(self, pieces: list[str], src: str, tgt: str) -> list[str]:
        return self._family.source_tokens(pieces, src, tgt, self._lang_tokens)

    def translate_tokens(self, texts: list[str], src: str, tgt: str) -> list[list[str]]:
        """The raw output tokens of each text (target language token included for families
        that decode from a target prefix, NLLB and M2M100). ``translate_batch`` is this plus
        detokenisation."""
        if not self.supports(src, tgt):
            raise EngineError(f"{self.name} does not translate {src}->{tgt}")
        pieces = self._sp_source.encode(texts, out_type=str)
        sources = [self._source_tokens(p, src, tgt) for p in pieces]
        opts = self.options
        prefix = self._family.prefix(tgt, self._lang_tokens)
        # CTranslate2 takes one max_decoding_length per call: by default the batch's longest
        # input sets it (a trained model stops each comment at </s> anyway, and drops finished
        # ones from the batch). With length_buckets, comments of similar length (within that
        # ratio) go in separate calls, each with a limit relative to its own inputs; they are
        # submitted together (asynchronous) so inter_threads of them run at once.
        # Small batches stay whole: a few comments decode together for little more than the
        # longest alone, while separate calls would each run a full decoding loop.
        split = opts.length_buckets > 1 and len(sources) >= _MIN_SPLIT_BATCH
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(sources):
            key = int(math.log(max(len(s), 1), opts.length_buckets)) if split else 0
            groups.setdefault(key, []).append(i)
        pending = []
        for _, members in sorted(groups.items()):  # shortest first: they finish first
            longest = min(max(len(sources[i]) for i in members), opts.max_input_length)
            limit = (math.ceil(longest * opts.max_length_ratio) + opts.max_length_extra
                     + (len(prefix) if prefix else 0))
            pending.append((members, self._translator.translate_batch(
                [sources[i] for i in members],
                target_prefix=[prefix] * len(members) if prefix else None,
                beam_size=opts.beam_size, max_decoding_length=limit,
                max_input_length=opts.max_input_length, asynchronous=True)))
        out: list[list[str]] = [[] for _ in texts]
        for members, results in pending:
            for i, result in zip(members, results, strict=True):
                out[i] = result.result().hypotheses[0]
        return out

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate ``texts`` in one CTranslate2 batch; empty texts come back as they are."""
        if not self.supports(src, tgt):
            raise EngineError(f"{self.name} does not translate {src}->{tgt}")
        todo = [i for i, t in enumerate(texts) if t.strip()]
        out = list(texts)
        if not todo:
            return out
        try:
            hyps = self.translate_tokens([texts[i] for i in todo], src, tgt)
            for i, tokens in zip(todo, hyps, strict=True):
                out[i] = self._detokenize(tokens)
        except EngineError:
            raise
        except Exception as exc:  # CTranslate2 raises RuntimeError and friends
            raise EngineError(f"{self.name} failed on {src}->{tgt}: {exc}") from exc
        return out

    def _detokenize(self, tokens: list[str]) -> str:
        sp = self._sp_target
        lang_tokens = set(self._lang_tokens.values())
        unk = sp.unk_id()
        # Drop language tokens and pieces SentencePiece does not know (the converter pads some
        # vocabularies with made-up words), which it would render as " ⁇ ".
        kept = [t for t in tokens
                if t not in _SPECIALS and t not in lang_tokens and sp.piece_to_id(t) != unk]
        return sp.decode(kept)

    def __repr__(self) -> str:
        return (f"CTranslate2Engine({str(self.model_dir)!r}, family={self.family}, "
                f"device={self.device}, compute_type={self.compute_type})")


def _read_target_vocabulary(model_dir: Path) -> set[str]:
    for name in ("shared_vocabulary", "target_vocabulary"):
        js, txt = model_dir / f"{name}.json", model_dir / f"{name}.txt"
        try:
            if js.is_file():
                return set(json.loads(js.read_text(encoding="utf-8")))
            if txt.is_file():
                return set(txt.read_text(encoding="utf-8").splitlines())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelDirError(f"{js if js.is_file() else txt} is corrupt ({exc}); convert the "
                                f"model again") from None
    raise ModelDirError(f"{model_dir / 'shared_vocabulary.json'} is missing")
