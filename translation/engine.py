"""The ``Engine`` seam and the result types every translation path returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class EngineError(RuntimeError):
    """An engine could not translate a batch (bad model, native failure)."""


@runtime_checkable
class Engine(Protocol):
    """A loaded translation model. Synchronous and thread-safe: called from worker threads.

    Optional attributes the rest of the system reads with ``getattr``: ``multilingual``
    (True for many-to-many models, which the router tries after pair models) and
    ``max_concurrency`` (how many batches may run on it at once)."""

    name: str

    def supports(self, src: str, tgt: str) -> bool:
        """Whether this engine translates ``src`` -> ``tgt`` (ISO 639-1 codes)."""
        ...

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate ``texts`` from ``src`` to ``tgt``; one output per input, same order."""
        ...


# Why a text reached a viewer untranslated (``Translation.reason``).
NO_ROUTE = "no_route"          # no engine covers the pair, not even through English
UNDETERMINED = "undetermined"  # the comment carries no language (emoji, numbers, links)
ENGINE_ERROR = "engine_error"  # the engine raised; the original is delivered instead
TIMEOUT = "timeout"            # the engine did not answer within the translation timeout
OVERLOADED = "overloaded"      # shed: the engine fell behind and the queue was full
NO_TRANSLATOR = "no_translator"  # role gateway: no translator node is alive to do the work


@dataclass(frozen=True)
class Rewrite:
    """One change the chat stage made to a comment before the model ("vc" -> "você"), for
    debugging: ``kind`` (abbreviation, accent, casing, place, term, reaction...), the text
    ``before`` and ``after``, and ``why`` the rule is safe."""

    kind: str
    before: str
    after: str
    why: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "before": self.before, "after": self.after, "why": self.why}


@dataclass(frozen=True)
class Translation:
    """One text in one target language. ``translated`` is False when ``text`` is the original;
    ``reason`` then says why (one of the constants above). ``rewrites``: what the chat stage
    changed before the model (debugging only; never sent to viewers)."""

    lang: str
    text: str
    translated: bool
    reason: str | None = None
    engine: str | None = None
    rewrites: tuple[Rewrite, ...] = ()
