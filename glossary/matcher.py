"""Glossary term matching: Aho-Corasick over a normalised copy of the text.

One automaton holds the case-insensitive terms (matched on a case-folded copy of the text),
another the case-sensitive ones. Both copies collapse runs of whitespace to one space, so
"lip  gloss" matches the term "lip gloss"; an index map takes every match back to offsets in
the original text. A scan is linear in the length of the text whatever the number of terms.

Word boundaries: a whole-word term must not continue a word of a script that separates
words with spaces ("Nails" does not match inside "Nailsy" or "ThumbNails"). Scripts written
without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) and Hangul, whose particles attach to
the noun, never block a match, so "Pink Friday Nails" is found in "我买了Pink Friday Nails的"
and a Korean term in "핑크네일즈를".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import ahocorasick
import regex

# A letter, digit, mark or underscore of a script that puts spaces between words.
_SPACED_WORD = regex.compile(
    r"(?![\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
    r"\p{Tibetan}\p{Yi}\p{Bopomofo}])[\w\p{M}]"
)
_NEEDS_SLOW_NORMALISE = regex.compile(r"\s\s|[^\S ]")


def _spaced_word(ch: str) -> bool:
    return bool(_SPACED_WORD.match(ch))


def normalise_term(text: str, *, case_sensitive: bool) -> str:
    """The key a term is stored under: NFC, whitespace runs collapsed, case-folded unless
    the term is case-sensitive. Two terms with one key are duplicates."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text if case_sensitive else text.casefold()


def normalise_text(text: str, *, fold: bool) -> tuple[str, list[int] | None]:
    """``text`` with whitespace runs collapsed (and case-folded if ``fold``), plus the map from
    each index of the result to the index of the original character (None: the identity)."""
    folded = text.casefold() if fold else text
    if len(folded) == len(text) and not _NEEDS_SLOW_NORMALISE.search(text):
        return folded, None
    out: list[str] = []
    index: list[int] = []
    previous_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not previous_space:
                out.append(" ")
                index.append(i)
            previous_space = True
            continue
        previous_space = False
        for part in ch.casefold() if fold else ch:
            out.append(part)
            index.append(i)
    return "".join(out), index


@dataclass(frozen=True)
class TermMatch:
    """``term_index`` (into the matcher's term list) found at ``text[start:end]``."""

    start: int
    end: int
    term_index: int


class TermMatcher:
    """Finds every occurrence of a fixed set of terms. Built once, then read-only and safe
    to share between threads."""

    def __init__(self, terms: Sequence[tuple[str, bool, bool]]) -> None:
        """``terms``: (text, case_sensitive, whole_word) per term; an index into this list is
        what a match reports. Raises ``ValueError`` for two terms with the same key."""
        self._whole_word: list[bool] = []
        self._edges: list[tuple[bool, bool]] = []
        self._automata: dict[bool, ahocorasick.Automaton] = {}
        seen: dict[tuple[bool, str], int] = {}
        for i, (text, case_sensitive, whole_word) in enumerate(terms):
            key = normalise_term(text, case_sensitive=case_sensitive)
            if not key:
                raise ValueError(f"term {i} is empty")
            fold = not case_sensitive
            if (fold, key) in seen:
                raise ValueError(f"term {text!r} repeats term {terms[seen[fold, key]][0]!r}")
            seen[fold, key] = i
            automaton = self._automata.get(fold)
            if automaton is None:
                automaton = self._automata[fold] = ahocorasick.Automaton()
            automaton.add_word(key, (i, len(key)))
            self._whole_word.append(whole_word)
            self._edges.append((_spaced_word(key[0]), _spaced_word(key[-1])))
        for automaton in self._automata.values():
            automaton.make_automaton()
        self.size = len(terms)

    def __len__(self) -> int:
        return self.size

    def find(self, text: str) -> Iterator[TermMatch]:
        """Every acceptable occurrence (overlapping ones included; the caller picks)."""
        for fold, automaton in self._automata.items():
            norm, index = normalise_text(text, fold=fold)
            n = len(norm)
            for last, (term_index, length) in automaton.iter(norm):
                first = last - length + 1
                if index is None:
                    start, end = first, last + 1
                else:
                    # A match must cover whole original characters ("ß" folds to "ss").
                    if first > 0 and index[first - 1] == index[first]:
                        continue
                    if last + 1 < n and index[last + 1] == index[last]:
                        continue
                    start, end = index[first], index[last] + 1
                if self._whole_word[term_index] and not self._at_boundaries(
                        text, start, end, term_index):
                    continue
                yield TermMatch(start, end, term_index)

    def _at_boundaries(self, text: str, start: int, end: int, term_index: int) -> bool:
        left, right = self._edges[term_index]
        if left and start > 0 and _spaced_word(text[start - 1]):
            return False
        return not (right and end < len(text) and _spaced_word(text[end]))
