"""Protection around the engine: ``protect`` before it, ``restore`` after it, and
``translate_protected``, which does the whole dance and is what the translation service calls.

``protect`` replaces every protected span (see ``glossary.spans``) with a placeholder the
model leaves alone, and neighbouring spans separated only by spaces share one placeholder.
Placeholders are five-digit numbers that do not occur in the text ("73914"): measured on the
embedded en<->pt models, bare numbers survive translation far better than "[0]", "__0__",
"<x0/>", "{0}", rare symbols or invented names (benchmarks/RESULTS-glossary.md).

The output is verified: every placeholder must appear exactly once. When one did not survive
(dropped, duplicated, translated into words), ``translate_protected`` throws that output away
and translates the text between the protected spans piece by piece, putting the spans back
in their original places: a strategy that cannot lose or duplicate a span. ``restore`` alone,
which cannot call the engine again, repairs instead: first copies are kept, later copies
removed and lost spans appended at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import regex

from babelcast.glossary.model import Glossary
from babelcast.glossary.spans import TERM, Span, find_spans

log = logging.getLogger("babelcast.glossary")

Translate = Callable[[list[str]], list[str]]

_FIRST_TOKEN = 73914
_TOKEN_STEP = 1111
# What a model may put inside a number ("73.914", "73 914") without changing it.
_TOKEN_SEP = "[.,\u00a0\u202f ]?"
_HAS_WORDS = regex.compile(r"\p{L}")
_ALNUM = regex.compile(r"[\p{L}\p{N}]")


@dataclass(frozen=True)
class Unit:
    """One placeholder: ``token`` in the engine text stands for ``output`` (the protected
    spans of ``source[start:end]``, and the spaces between them). ``pad_left``/``pad_right``:
    a space was put between the token and a letter or digit beside it."""

    token: str
    output: str
    start: int
    end: int
    pad_left: bool = False
    pad_right: bool = False


@dataclass(frozen=True)
class Protected:
    """Text ready for the engine (``text``) plus what ``restore`` needs: the original
    (``source``), the placeholders (``units``), the protected ``spans`` and the glossary
    terms found (``hits``, the glossary's spelling, one per occurrence)."""

    text: str
    source: str = ""
    units: tuple[Unit, ...] = ()
    spans: tuple[Span, ...] = ()
    hits: tuple[str, ...] = ()

    def segments(self) -> list[str]:
        """The pieces of ``source`` between the units (one more than there are units)."""
        out, pos = [], 0
        for u in self.units:
            out.append(self.source[pos:u.start])
            pos = u.end
        out.append(self.source[pos:])
        return out

    def needs_engine(self) -> bool:
        """Whether anything outside the protected spans is worth translating."""
        if not self.units:
            return bool(_HAS_WORDS.search(self.text))
        return any(_HAS_WORDS.search(s) for s in self.segments())


@dataclass(frozen=True)
class ProtectedResult:
    """A translated text with every protected span in place.

    ``glossary_hits``: the glossary terms in the comment (the glossary's spelling, one per
    occurrence). ``fallback_used``: a placeholder did not survive the model and the text was
    translated piece by piece. ``glossary_error``: the glossary failed (a bug, never the
    input's fault) and the comment was translated without it; the caller counts it."""

    text: str
    glossary_hits: tuple[str, ...] = ()
    fallback_used: bool = False
    glossary_error: str | None = None
    protected_spans: int = 0


def _token_pattern(tokens: list[str]) -> str:
    alternatives = "|".join(t[:2] + _TOKEN_SEP + t[2:] for t in tokens)
    return rf"(?<!\d)(?:{alternatives})(?!\d)"


def _tokens(text: str, n: int) -> list[str]:
    out: list[str] = []
    value = _FIRST_TOKEN
    while len(out) < n:
        token = str(value)
        # Also skip a token the text holds in a form the output check would accept ("73.914").
        if not regex.search(_token_pattern([token]), text):
            out.append(token)
        value += _TOKEN_STEP
    return out


def protect(text: str, glossary: Glossary | None = None, tgt: str | None = None) -> Protected:
    """Find the protected spans of ``text`` (glossary terms for target language ``tgt``, URLs,
    mentions, emoji, prices, codes...) and replace them with placeholders.

    With ``tgt`` None, mapped terms are left to the model (kept terms are still protected)."""
    spans = find_spans(text, glossary, tgt)
    hits = tuple(s.term for s in spans if s.kind == TERM and s.term is not None)
    kept = [s for s in spans if s.output]
    if not kept:
        return Protected(text, text, (), (), hits)
    # Spans with only whitespace between them travel as one placeholder.
    groups: list[list[Span]] = []
    for s in kept:
        if groups and not text[groups[-1][-1].end:s.start].strip():
            groups[-1].append(s)
        else:
            groups.append([s])
    tokens = _tokens(text, len(groups))
    units: list[Unit] = []
    parts: list[str] = []
    pos = 0
    for token, group in zip(tokens, groups, strict=True):
        start, end = group[0].start, group[-1].end
        output = "".join(s.output + text[s.end:nxt.start]
                         for s, nxt in pairwise(group)) + group[-1].output
        pad_left = start > 0 and bool(_ALNUM.match(text[start - 1]))
        pad_right = end < len(text) and bool(_ALNUM.match(text[end]))
        parts.append(text[pos:start])
        parts.append((" " if pad_left else "") + token + (" " if pad_right else ""))
        units.append(Unit(token, output, start, end, pad_left, pad_right))
        pos = end
    parts.append(text[pos:])
    return Protected("".join(parts), text, tuple(units), tuple(kept), hits)


def _token_matches(translated: str, protected: Protected) -> list[tuple[int, int, int]]:
    """(start, end, unit index) of every placeholder in the engine output, in order."""
    by_token = {u.token: i for i, u in enumerate(protected.units)}
    out = []
    for m in regex.finditer(_token_pattern(list(by_token)), translated):
        digits = "".join(c for c in m.group() if c.isdigit())
        out.append((m.start(), m.end(), by_token[digits]))
    return out


Piece = tuple[int | None, str]  # (unit index or None for translated text, text)


def assemble(translated: str, protected: Protected, *, strict: bool) -> list[Piece] | None:
    """Split the engine output into translated text and restored units.

    ``strict``: None unless every placeholder is there exactly once. Otherwise repair: the
    first copy of a unit stays, later copies go, lost units are appended at the end."""
    units = protected.units
    if not units:
        return [(None, translated)]
    matches = _token_matches(translated, protected)
    counts = [0] * len(units)
    for _, _, i in matches:
        counts[i] += 1
    if strict and any(c != 1 for c in counts):
        return None
    pieces: list[Piece] = []
    seen: set[int] = set()
    pos = 0
    for start, end, i in matches:
        before = translated[pos:start]
        if i in seen:  # a duplicate: drop it and one space that separated it
            if before.endswith(" ") and translated[end:end + 1] in (" ", ""):
                before = before[:-1]
            pieces.append((None, before))
        else:
            seen.add(i)
            pieces.append((None, before))
            pieces.append((i, units[i].output))
        pos = end
    pieces.append((None, translated[pos:]))
    for i in range(len(units)):
        if i not in seen:
            if not "".join(t for _, t in pieces)[-1:].isspace():
                pieces.append((None, " "))
            pieces.append((i, units[i].output))
    return _unpad(pieces, units)


def _unpad(pieces: list[Piece], units: tuple[Unit, ...]) -> list[Piece]:
    """Take back the spaces ``protect`` put between a placeholder and a word."""
    out = list(pieces)
    for k, (i, _) in enumerate(out):
        if i is None:
            continue
        if units[i].pad_left and k > 0 and out[k - 1][0] is None \
                and out[k - 1][1].endswith(" "):
            out[k - 1] = (None, out[k - 1][1][:-1])
        if units[i].pad_right and k + 1 < len(out) and out[k + 1][0] is None \
                and out[k + 1][1].startswith(" "):
            out[k + 1] = (None, out[k + 1][1][1:])
    return out


def restore(translated: str, protected: Protected) -> str:
    """Put the protected spans back into the engine's output. Never loses or duplicates a
    span: a placeholder the model dropped is appended at the end (``translate_protected``
    avoids that by translating piece by piece instead)."""
    if not protected.units:
        return translated
    pieces = assemble(translated, protected, strict=False)
    assert pieces is not None
    return "".join(text for _, text in pieces)


def translate_segments(protected: Protected, translate: Translate) -> str:
    """The fallback: translate the text between protected spans, each piece on its own (one
    batch), and put the spans back where they were. Pieces without letters are kept."""
    segments = protected.segments()
    todo: list[str] = []
    slots: list[tuple[str, str, str] | None] = []
    for seg in segments:
        core = seg.strip()
        if _HAS_WORDS.search(core):
            lead = seg[:len(seg) - len(seg.lstrip())]
            trail = seg[len(seg.rstrip()):]
            slots.append((lead, core, trail))
            todo.append(core)
        else:
            slots.append(None)
    done = iter(_call(translate, todo) if todo else [])
    out: list[str] = []
    for k, (seg, slot) in enumerate(zip(segments, slots, strict=True)):
        out.append(seg if slot is None else slot[0] + next(done) + slot[2])
        if k < len(protected.units):
            out.append(protected.units[k].output)
    return "".join(out)


def _call(translate: Translate, texts: list[str]) -> list[str]:
    out = translate(texts)
    if len(out) != len(texts):
        raise ValueError(f"the engine returned {len(out)} texts for {len(texts)}")
    return list(out)


def translate_protected(text: str, glossary: Glossary | None, tgt: str,
                        translate: Translate) -> ProtectedResult:
    """Translate ``text`` into ``tgt`` with ``translate`` (a batch of plain strings in, the
    same number of translations out, for this language pair; exceptions propagate), keeping
    every protected span and glossary term exactly once.

    A glossary can never break translation: if protecting with it fails, the text is
    protected without it (URLs, emoji... still are) and ``glossary_error`` says why."""
    protected, error = protect_safely(text, glossary, tgt)
    output = _call(translate, [protected.text])[0] if protected.needs_engine() else None
    return finish_protected(protected, output, translate, glossary_error=error)


def protect_safely(text: str, glossary: Glossary | None,
                   tgt: str) -> tuple[Protected, str | None]:
    """``protect`` that never raises: if the glossary fails, protect without it (and say
    why in the second value); if even that fails, nothing is protected."""
    try:
        return protect(text, glossary, tgt), None
    except Exception as exc:  # a bug must not take the room's translation down
        error = f"{type(exc).__name__}: {exc}"
        log.warning("glossary %s failed on a comment; translating without it: %s",
                    glossary.name if glossary else "-", error)
    try:
        return protect(text, None, tgt), error
    except Exception:
        log.exception("span protection failed; translating unprotected")
        return Protected(text, text), error


def finish_protected(protected: Protected, output: str | None, translate: Translate, *,
                     glossary_error: str | None = None) -> ProtectedResult:
    """The second half of ``translate_protected``, for callers that batch engine calls
    themselves: ``output`` is the engine's translation of ``protected.text`` (None when
    ``protected.needs_engine()`` is false). Verifies it, restores the spans, and when a
    placeholder did not survive translates piece by piece with ``translate``."""
    hits, n = protected.hits, len(protected.spans)
    if output is None:
        if protected.needs_engine():
            raise ValueError("finish_protected needs the engine output for this text")
        # Nothing to translate but the spans: mapped terms still take their translation
        # ("Esgotado!" -> "Sold out!"), everything else stays as written.
        return ProtectedResult(restore(protected.text, protected), hits, False,
                               glossary_error, n)
    if not protected.units:
        return ProtectedResult(output, hits, False, glossary_error, n)
    pieces = assemble(output, protected, strict=True)
    if pieces is not None:
        return ProtectedResult("".join(t for _, t in pieces), hits, False, glossary_error, n)
    log.debug("a placeholder did not survive; translating piece by piece")
    return ProtectedResult(translate_segments(protected, translate), hits, True,
                           glossary_error, n)


def glossary_hits(text: str, glossary: Glossary | None) -> tuple[str, ...]:
    """The glossary terms in ``text`` (the glossary's spelling, one per occurrence, in order);
    the same for every target language. Never raises: a failing glossary has no hits."""
    if glossary is None:
        return ()
    try:
        return tuple(s.term for s in find_spans(text, glossary, None)
                     if s.kind == TERM and s.term is not None)
    except Exception:
        log.exception("glossary %s failed while counting hits", glossary.name)
        return ()
