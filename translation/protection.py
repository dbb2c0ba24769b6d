"""Glossary protection around *batched* engine calls, on the worker thread.

The glossary package protects spans, verifies the model's output and falls back to
translating piece by piece when a placeholder did not survive. The batcher translates many
texts in one engine call, so that is split in two: ``prepare`` protects (the engine text goes
into the batch) and ``finish`` verifies and restores with the batch's output for that text;
only a fallback calls the engine again, directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from babelcast.glossary import (
    Glossary,
    Protected,
    ProtectedResult,
    finish_protected,
    protect_safely,
)

Translate = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class Prepared:
    """A comment ready for the engine. ``engine_text`` is None when nothing in it needs a
    model (only emoji, links, prices, glossary terms): ``finish`` then needs no output.
    ``glossary_error`` says why the glossary was dropped for this comment, if it was."""

    source: str
    glossary: Glossary | None
    tgt: str
    engine_text: str | None
    protected: Protected
    glossary_error: str | None = None


def prepare(text: str, glossary: Glossary | None, tgt: str) -> Prepared:
    """Protect ``text`` for target language ``tgt``. Never raises: a failing glossary is
    dropped (and reported in ``glossary_error``), failing span protection protects nothing."""
    protected, error = protect_safely(text, glossary, tgt)
    engine_text = protected.text if protected.needs_engine() else None
    return Prepared(text, glossary, tgt, engine_text, protected, error)


def finish(prepared: Prepared, output: str | None, translate: Translate) -> ProtectedResult:
    """The final text from the engine's ``output`` for ``prepared.engine_text``; ``translate``
    runs the whole route on other texts (the piece-by-piece fallback)."""
    return finish_protected(prepared.protected, output, translate,
                            glossary_error=prepared.glossary_error)
