"""Normalisation of one chat comment for the model, and the writer's style given back after.

``normalise`` rewrites the text between protected spans (URLs, mentions, emoji, codes, glossary
terms are never touched): reactions to their one spelling, stretched letters, chat
abbreviations and phonetic spellings, missing accents, repeated punctuation, and the casing
(sentence case for the model, place names capitalised). Every rewrite is reported.
``give_back`` puts the writer's casing style and trailing punctuation on the translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import regex

from babelcast.glossary.spans import EMOJI, Span, pattern_spans
from babelcast.translation.chat.rules import (
    CASING,
    PLACE,
    PUNCTUATION,
    REACTION,
    STRETCH,
    LanguageRules,
)
from babelcast.translation.engine import Rewrite

LOWER = "lower"        # no capital letter at all: "vc manda pra curitiba?"
UPPER = "upper"        # all capitals: "NAO GOSTEI DA COR"
AS_WRITTEN = "as_written"

_TOKEN = regex.compile(r"[\p{L}\p{N}][\p{L}\p{M}\p{N}'\u2019]*")
_RUN = regex.compile(r"(\p{L})\1{2,}")
_CASED = regex.compile(r"\p{Lu}|\p{Ll}")
_SENTENCE_END = regex.compile(r"[.!?…]")
# Repeated sentence punctuation: "!!!", "???", "?!?!", "......".
_PUNCT_RUN = regex.compile(r"[!?]{2,}|\.{4,}")
# What may follow the comment's last punctuation: spaces and emoji.
_TAIL = regex.compile(
    r"[!?.…]+(?=(?:\s|\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}"
    r"|[\ufe0f\u200d\u20e3])*\Z)")
_UNCASED_OK = {"url", "email", "mention", "hashtag"}


@dataclass(frozen=True)
class Piece:
    """A stretch of the comment: protected (never rewritten) or free text."""

    text: str
    span: Span | None = None


@dataclass(frozen=True)
class Normalised:
    """The text for the model, what was rewritten, the writer's casing ``style`` and the
    repeated punctuation that ended the comment (given back on the translation)."""

    text: str
    pieces: tuple[Piece, ...]
    rewrites: tuple[Rewrite, ...]
    style: str
    trailing: str | None


def split(text: str, spans: Sequence[Span]) -> list[Piece]:
    """``text`` cut into free and protected pieces (``spans`` in order, not overlapping)."""
    out: list[Piece] = []
    pos = 0
    for s in spans:
        if s.start < pos:
            continue  # a span inside a translated term (find_spans lists both)
        if s.start > pos:
            out.append(Piece(text[pos:s.start]))
        out.append(Piece(text[s.start:s.end], s))
        pos = s.end
    if pos < len(text):
        out.append(Piece(text[pos:]))
    return out


def casing_style(pieces: Sequence[Piece]) -> str:
    """How the writer cased the comment's own words (protected pieces do not count)."""
    free = "".join(p.text for p in pieces if p.span is None)
    cased = _CASED.findall(free)
    if len(cased) < 2:
        return AS_WRITTEN
    if all(c.islower() for c in cased):
        return LOWER
    if len(cased) >= 4 and all(c.isupper() for c in cased):
        return UPPER
    return AS_WRITTEN


def _like(token: str, replacement: str) -> str:
    """``replacement`` with the capital ``token`` started with."""
    if token[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _unstretch(word: str, rules: LanguageRules) -> str:
    """``word`` with letters repeated three times or more made one (two where the language
    doubles that letter in that word)."""
    if word.casefold() in rules.never_stretch or len(set(word.casefold())) == 1:
        return word
    single = _RUN.sub(r"\1", word)
    for m in _RUN.finditer(word):
        doubled = _RUN.sub(lambda r, m=m: r.group(1) * (2 if r.start() == m.start() else 1),
                           word)
        if doubled.casefold() in rules.keep_double:
            return doubled
    return single


class Normaliser:
    """The rewrites of one source language; ``kinds`` names the kinds of rewrite to make."""

    def __init__(self, rules: LanguageRules, kinds: frozenset[str]) -> None:
        self.rules = rules
        self.kinds = kinds
        places = sorted(rules.places, key=len, reverse=True)
        self._places = regex.compile(
            r"(?<![\p{L}\p{N}])(?:" + "|".join(regex.escape(p) for p in places)
            + r")(?![\p{L}\p{N}])", regex.IGNORECASE) if places else None
        self._canonical = {p.casefold(): p for p in rules.places}

    def normalise(self, text: str, spans: Sequence[Span]) -> Normalised:
        """Rewrite ``text`` outside ``spans`` (its protected spans, in order)."""
        pieces = split(text, spans)
        style = casing_style(pieces)
        rewrites: list[Rewrite] = []
        trailing = None
        if PUNCTUATION in self.kinds:
            pieces, trailing = self._punctuation(pieces, rewrites)
        if style == UPPER and CASING in self.kinds:
            lowered = [p if p.span is not None else Piece(p.text.lower()) for p in pieces]
            rewrites.append(Rewrite(CASING, "".join(p.text for p in pieces),
                                    "".join(p.text for p in lowered),
                                    "all capitals: lower case for the model, capitals given "
                                    "back on the translation"))
            pieces = lowered
        pieces = [p if p.span is not None else Piece(self._words(p.text, rewrites))
                  for p in pieces]
        if PLACE in self.kinds and self._places is not None:
            pieces = [p if p.span is not None else Piece(self._place_names(p.text, rewrites))
                      for p in pieces]
        if style in (LOWER, UPPER) and CASING in self.kinds:
            pieces = self._sentence_case(pieces, rewrites)
        return Normalised("".join(p.text for p in pieces), tuple(pieces), tuple(rewrites),
                          style if CASING in self.kinds else AS_WRITTEN, trailing)

    # --- the passes ---------------------------------------------------------------------

    def _punctuation(self, pieces: list[Piece],
                     rewrites: list[Rewrite]) -> tuple[list[Piece], str | None]:
        """Repeated "!!!" / "???" / "?!?!" become one mark for the model; the comment's last
        run is remembered and given back."""
        trailing = None
        last_free = max((i for i, p in enumerate(pieces) if p.span is None
                         and _PUNCT_RUN.search(p.text)), default=None)
        out = []
        for i, p in enumerate(pieces):
            if p.span is not None or not _PUNCT_RUN.search(p.text):
                out.append(p)
                continue
            if i == last_free and all((q.span is not None and q.span.kind == EMOJI)
                                      or not q.text.strip() for q in pieces[i + 1:]):
                tail = _TAIL.search(p.text.rstrip())
                if tail is not None and _PUNCT_RUN.fullmatch(tail.group()):
                    trailing = tail.group()

            def one(m: regex.Match[str]) -> str:
                run = m.group()
                return "..." if run[0] == "." else ("?" if "?" in run else "!")

            new = _PUNCT_RUN.sub(one, p.text)
            rewrites.append(Rewrite(PUNCTUATION, p.text.strip(), new.strip(),
                                    "repeated marks: one for the model, the comment's last "
                                    "run given back on the translation"))
            out.append(Piece(new))
        return out, trailing

    def _words(self, text: str, rewrites: list[Rewrite]) -> str:
        """Reactions, stretched letters and the word rules, token by token."""
        rules, kinds = self.rules, self.kinds
        tokens = list(_TOKEN.finditer(text))
        out: list[str] = []
        pos = 0
        for k, m in enumerate(tokens):
            token = word = m.group()
            out.append(text[pos:m.start()])
            pos = m.end()
            reaction = rules.reaction(word)
            if reaction is not None:
                if REACTION in kinds and word != reaction.canonical:
                    rewrites.append(Rewrite(REACTION, word, reaction.canonical, reaction.why))
                    word = reaction.canonical
                out.append(word)
                continue
            if STRETCH in kinds and _RUN.search(word):
                plain = _unstretch(word, rules)
                if plain != word:
                    rewrites.append(Rewrite(STRETCH, word, plain,
                                            "letters repeated for emphasis"))
                    word = plain
            rule = rules.words.get(word.casefold())
            if rule is not None and rule.kind in kinds:
                nxt = tokens[k + 1].group() if k + 1 < len(tokens) else None
                end = _SENTENCE_END.search(text, m.end())
                question = (end.group() == "?") if end is not None else False
                new = _like(word, rule.choose(nxt, question))
                if new != word:
                    rewrites.append(Rewrite(rule.kind, token if word == token else word, new,
                                            rule.why))
                    word = new
            out.append(word)
        out.append(text[pos:])
        return "".join(out)

    def _place_names(self, text: str, rewrites: list[Rewrite]) -> str:
        """Places of the gazetteer with their capitals back (the ambiguous ones only after a
        preposition of place)."""
        assert self._places is not None

        def fix(m: regex.Match[str]) -> str:
            found = m.group()
            canonical = self._canonical[found.casefold()]
            if found == canonical:
                return found
            if found.casefold() in self.rules.ambiguous_places:
                before = _TOKEN.findall(text[:m.start()])
                if not before or before[-1].casefold() not in self.rules.place_after:
                    return found
            rewrites.append(Rewrite(PLACE, found, canonical, "a place name (gazetteer)"))
            return canonical

        return self._places.sub(fix, text)

    def _sentence_case(self, pieces: list[Piece], rewrites: list[Rewrite]) -> list[Piece]:
        """A capital at the start of each sentence (what the model was trained on)."""
        out: list[Piece] = []
        start = True
        changed = False
        for p in pieces:
            if p.span is not None:
                if p.span.kind != EMOJI:
                    start = False
                out.append(p)
                continue
            chars = list(p.text)
            for i, ch in enumerate(chars):
                if start and ch.isalpha():
                    if ch.islower():
                        chars[i] = ch.upper()
                        changed = True
                    start = False
                elif ch in "!?.…":
                    start = True
                elif start and ch.isdigit():
                    start = False
            out.append(Piece("".join(chars)))
        if changed:
            rewrites.append(Rewrite(CASING, "".join(p.text for p in pieces),
                                    "".join(p.text for p in out),
                                    "sentence case for the model; the writer's casing is "
                                    "given back on the translation"))
        return out


def give_back(text: str, style: str, trailing: str | None, proper: frozenset[str],
              capital_start: bool) -> str:
    """The translation with the writer's style: lower case where the comment had no capitals
    (names kept), all capitals where it had only capitals (links and mentions kept), and the
    comment's repeated final punctuation."""
    if trailing:
        tail = _TAIL.search(text)
        if tail is not None:
            text = text[:tail.start()] + trailing + text[tail.end():]
        else:
            core = text.rstrip()
            text = core + trailing + text[len(core):]
    if style == LOWER:
        return _lower_sentence_starts(text, proper)
    if style == UPPER:
        keep = [(s.start, s.end) for s in pattern_spans(text) if s.kind in _UNCASED_OK]
        out, pos = [], 0
        for start, end in sorted(keep):
            if start < pos:
                continue
            out.append(text[pos:start].upper())
            out.append(text[start:end])
            pos = end
        out.append(text[pos:].upper())
        return "".join(out)
    if capital_start:
        m = _CASED.search(text)
        if m is not None and m.group().islower():
            first = _TOKEN.match(text, m.start())
            if first is not None and first.start() == m.start():
                return text[:m.start()] + m.group().upper() + text[m.end():]
    return text


def _lower_sentence_starts(text: str, proper: frozenset[str]) -> str:
    """The first word of each sentence in lower case, unless it starts a name of ``proper``
    (full names, case-folded), is "I", or is written in capitals."""
    out = []
    pos = 0
    start = True
    verbatim = [(s.start, s.end) for s in pattern_spans(text)]  # links, mentions, hashtags
    tokens = list(_TOKEN.finditer(text))
    for k, m in enumerate(tokens):
        between = text[pos:m.start()]
        if _SENTENCE_END.search(between):
            start = True
        out.append(between)
        word = m.group()
        if any(a < m.end() and m.start() < b for a, b in verbatim):
            start = False
        elif start and word[:1].isupper() and (len(word) == 1 or word[1:2].islower()) \
                and word != "I" and not word.startswith(("I'", "I\u2019")) \
                and not _names(text, tokens, k, proper):
            word = word[:1].lower() + word[1:]
        start = False
        out.append(word)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _names(text: str, tokens: list[regex.Match[str]], k: int, proper: frozenset[str]) -> bool:
    """Whether a name of ``proper`` starts at token ``k`` (names of up to four words)."""
    first = tokens[k].start()
    return any(text[first:tokens[j].end()].casefold() in proper
               for j in range(k, min(k + 4, len(tokens))))
