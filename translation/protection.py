"""Glossary protection around *batched* engine calls, on the worker thread.

``glossary.translate_protected`` protects spans, calls the engine for one text, verifies that
every placeholder survived and otherwise translates piece by piece. The batcher translates many
texts in one engine call, so it splits that in two: ``prepare`` (protect; the engine text goes
into the batch) and ``finish`` (hand ``translate_protected`` the batch's output for that text,
so verification and the piece-by-piece fallback are the glossary's own; only a fallback calls
the engine again, directly). Where the glossary package offers only ``protect``/``restore``,
those are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import glossary as _glossary
from glossary import Glossary

log = logging.getLogger("babelcast.translation")

Translate = Callable[[list[str]], list[str]]
_translate_protected = getattr(_glossary, "translate_protected", None)


@dataclass(frozen=True)
class Prepared:
    """A comment ready for the engine. ``engine_text`` is None when nothing in it needs a
    model (only emoji, links, prices, glossary terms): ``finish`` then needs no output."""

    source: str
    glossary: Glossary | None
    tgt: str
    engine_text: str | None
    protected: Any = None  # glossary.Protected, or None when protection failed


def prepare(text: str, glossary: Glossary | None, tgt: str) -> Prepared:
    """Protect ``text`` for target language ``tgt``. Never raises: a failing glossary is
    dropped, and failing span protection leaves the text unprotected (as the glossary
    package's own ``translate_protected`` does)."""
    for g in (glossary, None):
        try:
            protected = (_glossary.protect(text, g, tgt) if _translate_protected
                         else _glossary.protect(text, g))
        except Exception as exc:  # a glossary bug must not take the batch down
            log.warning("protection with glossary %s failed: %s", g.name if g else "-", exc)
            continue
        needs = getattr(protected, "needs_engine", None)
        engine_text = protected.text if needs is None or needs() else None
        return Prepared(text, glossary, tgt, engine_text, protected)
    return Prepared(text, glossary, tgt, text, None)


def finish(prepared: Prepared, output: str | None, translate: Translate) -> str:
    """The final text from the engine's ``output`` for ``prepared.engine_text``. ``translate``
    runs the whole route on other texts (the glossary's piece-by-piece fallback)."""
    if prepared.protected is None:
        return output if output is not None else prepared.source
    if _translate_protected is None:
        return _glossary.restore(output if output is not None else prepared.protected.text,
                                 prepared.protected)

    def from_batch(texts: list[str]) -> list[str]:
        # The glossary asks for exactly the text the batch translated, unless it falls back.
        if output is not None and texts == [prepared.engine_text]:
            return [output]
        return translate(texts)

    result = _translate_protected(prepared.source, prepared.glossary, prepared.tgt, from_batch)
    if result.glossary_error:
        log.warning("glossary %s failed; translated without it: %s",
                    prepared.glossary.name if prepared.glossary else "-", result.glossary_error)
    return result.text
