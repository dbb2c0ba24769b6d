"""The chat stage's data: per-language rules and per-pair term packs, read from the TOML files in
``translation/data/chat/`` (``<lang>.toml``, ``terms/<src>-<tgt>.toml``).

The files are data, not code: every entry says why the rewrite is safe. ``load_rules`` and
``load_pack`` validate them and raise ``ChatRulesError`` naming the file and the entry.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import regex

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# What the debug output calls each rewrite (``Rewrite.kind``).
ABBREVIATION = "abbreviation"
PHONETIC = "phonetic"
ACCENT = "accent"
STRETCH = "stretch"
PUNCTUATION = "punctuation"
CASING = "casing"
PLACE = "place"
TERM = "term"
REACTION = "reaction"
PHRASE = "phrase"
KINDS = (ABBREVIATION, PHONETIC, ACCENT, STRETCH, PUNCTUATION, CASING, PLACE, TERM, REACTION,
         PHRASE)
_WORD_KINDS = {ABBREVIATION, PHONETIC, ACCENT, CASING}


class ChatRulesError(ValueError):
    """A rules or term file that cannot be used (the message names the file and entry)."""


@dataclass(frozen=True)
class WordRule:
    """One chat spelling and its written form. ``question``: the form used when the sentence
    ends with "?"; ``next_words``/``next_to``: the form used before one of those words."""

    to: str
    kind: str
    why: str
    question: str | None = None
    next_words: frozenset[str] = frozenset()
    next_to: str | None = None

    def choose(self, next_word: str | None, question: bool) -> str:
        """The written form in this context."""
        if self.next_to is not None and next_word is not None \
                and next_word.casefold() in self.next_words:
            return self.next_to
        if question and self.question is not None:
            return self.question
        return self.to


@dataclass(frozen=True)
class ReactionRule:
    """Laughter or a heart written with letters: ``pattern`` matches the whole word,
    ``canonical`` is its one spelling, ``means`` what it renders as (laugh, heart, cry)."""

    name: str
    pattern: regex.Pattern[str]
    canonical: str
    means: str
    why: str


@dataclass(frozen=True)
class LanguageRules:
    """Everything the stage knows of one language, as a source and as a target."""

    lang: str
    words: Mapping[str, WordRule] = field(default_factory=dict)
    reactions: tuple[ReactionRule, ...] = ()
    render: Mapping[str, str] = field(default_factory=dict)
    keep_double: frozenset[str] = frozenset()
    never_stretch: frozenset[str] = frozenset()
    places: tuple[str, ...] = ()
    ambiguous_places: frozenset[str] = frozenset()
    place_after: frozenset[str] = frozenset()
    exonyms: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def reaction(self, word: str) -> ReactionRule | None:
        """The reaction ``word`` is, if it is one."""
        for rule in self.reactions:
            if rule.pattern.fullmatch(word):
                return rule
        return None


@dataclass(frozen=True)
class TermPack:
    """Built-in terms for one language pair: ``mapped`` (source phrase -> fixed target text),
    ``keep`` (names kept as written), ``phrases`` (whole comments rendered by rule), and why."""

    src: str
    tgt: str
    mapped: Mapping[str, str] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] = ()
    phrases: Mapping[str, str] = field(default_factory=dict)


def _data_dir() -> Path:
    return Path(str(resources.files("babelcast.translation").joinpath("data", "chat")))


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ChatRulesError(f"{path}: {exc}") from None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChatRulesError(f"{where}: expected non-empty text, got {value!r}")
    return _nfc(value)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise ChatRulesError(f"{where}: expected a list of text")
    return [_str(v, where) for v in value]


def parse_rules(lang: str, data: Mapping[str, Any], where: str = "rules") -> LanguageRules:
    """Validate one language's rules document (what ``<lang>.toml`` holds)."""
    words: dict[str, WordRule] = {}
    for key, entry in (data.get("words") or {}).items():
        at = f"{where}: [words] {key!r}"
        if not isinstance(entry, dict):
            raise ChatRulesError(f"{at}: expected {{ to = ..., kind = ..., why = ... }}")
        kind = entry.get("kind")
        if kind not in _WORD_KINDS:
            raise ChatRulesError(f"{at}: kind must be one of {sorted(_WORD_KINDS)}")
        nxt = entry.get("next") or {}
        words[_nfc(key).casefold()] = WordRule(
            to=_str(entry.get("to"), at), kind=kind, why=_str(entry.get("why"), at),
            question=_str(entry["question"], at) if "question" in entry else None,
            next_words=frozenset(w.casefold() for w in _strings(nxt.get("words", []), at)),
            next_to=_str(nxt["to"], at) if "to" in nxt else None)
    reactions = []
    for name, entry in (data.get("reactions") or {}).items():
        at = f"{where}: [reactions] {name!r}"
        try:
            pattern = regex.compile(_str(entry.get("pattern"), at), regex.IGNORECASE)
        except regex.error as exc:
            raise ChatRulesError(f"{at}: bad pattern: {exc}") from None
        reactions.append(ReactionRule(name, pattern, _str(entry.get("as"), at),
                                      _str(entry.get("means"), at), _str(entry.get("why"), at)))
    casing = data.get("casing") or {}
    stretch = data.get("stretch") or {}
    places = _strings(casing.get("places", []), f"{where}: [casing] places")
    ambiguous = _strings(casing.get("ambiguous", []), f"{where}: [casing] ambiguous")
    exonyms = {_str(k, where): {str(t): _str(v, where) for t, v in m.items()}
               for k, m in (casing.get("exonyms") or {}).items()}
    render = {str(k): _str(v, f"{where}: [render] {k!r}")
              for k, v in (data.get("render") or {}).items()}
    return LanguageRules(
        lang=lang, words=words, reactions=tuple(reactions), render=render,
        keep_double=frozenset(w.casefold() for w in _strings(
            stretch.get("keep_double", []), f"{where}: [stretch] keep_double")),
        never_stretch=frozenset(w.casefold() for w in _strings(
            stretch.get("never", []), f"{where}: [stretch] never")),
        places=tuple(dict.fromkeys(places + ambiguous)),
        ambiguous_places=frozenset(p.casefold() for p in ambiguous),
        place_after=frozenset(w.casefold() for w in _strings(
            casing.get("after", []), f"{where}: [casing] after")),
        exonyms=exonyms)


def parse_pack(src: str, tgt: str, data: Mapping[str, Any], where: str = "terms") -> TermPack:
    """Validate one pair's term pack (what ``terms/<src>-<tgt>.toml`` holds)."""
    mapped: dict[str, str] = {}
    why: dict[str, str] = {}
    for term, entry in (data.get("mapped") or {}).items():
        at = f"{where}: [mapped] {term!r}"
        if not isinstance(entry, dict):
            raise ChatRulesError(f"{at}: expected {{ to = ..., why = ... }}")
        mapped[_nfc(term)] = _str(entry.get("to"), at)
        why[_nfc(term)] = _str(entry.get("why"), at)
    keep_doc = data.get("keep") or {}
    keep = _strings(keep_doc.get("names", []), f"{where}: [keep] names")
    if keep:
        _str(keep_doc.get("why"), f"{where}: [keep] why")
    phrases = {" ".join(_nfc(k).casefold().split()): _str(v, f"{where}: [phrases] {k!r}")
               for k, v in (data.get("phrases") or {}).items()}
    return TermPack(src, tgt, mapped, why, tuple(keep), phrases)


@cache
def load_rules(lang: str, directory: Path | None = None) -> LanguageRules:
    """The rules of ``lang`` (empty rules for a language with no file)."""
    path = (directory or _data_dir()) / f"{lang}.toml"
    data = _read(path)
    return parse_rules(lang, data or {}, str(path))


@cache
def load_pack(src: str, tgt: str, directory: Path | None = None) -> TermPack:
    """The term pack of ``src`` -> ``tgt`` (an empty pack for a pair with no file)."""
    path = (directory or _data_dir()) / "terms" / f"{src}-{tgt}.toml"
    data = _read(path)
    return parse_pack(src, tgt, data or {}, str(path))


def available_languages(directory: Path | None = None) -> list[str]:
    """The languages that have a rules file."""
    return sorted(p.stem for p in (directory or _data_dir()).glob("*.toml"))
