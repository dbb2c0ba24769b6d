"""Glossaries: terms kept as written or mapped to a fixed translation per target language.

A glossary is immutable. ``Glossary.from_json`` validates what the REST layer and glossary
files hand in and raises ``GlossaryError`` (a code, a message for people and an HTTP status)
for anything it cannot accept; constructing a ``Glossary`` directly validates the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babelcast.glossary.matcher import TermMatcher, normalise_term
from babelcast.langid.codes import normalize_lang

# Limits on what one glossary may hold (checked by ``Glossary`` itself).
MAX_TERMS = 20_000
MAX_TERM_CHARS = 100
MAX_TRANSLATION_CHARS = 200
MAX_LANGS_PER_TERM = 64
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_NAME_CHARS = 64

# Error codes (``GlossaryError.code``).
INVALID_JSON = "invalid_json"
TOO_LARGE = "glossary_too_large"
INVALID_GLOSSARY = "invalid_glossary"
INVALID_NAME = "invalid_glossary_name"
EMPTY_TERM = "empty_term"
INVALID_TERM = "invalid_term"
TERM_TOO_LONG = "term_too_long"
TOO_MANY_TERMS = "too_many_terms"
DUPLICATE_TERM = "duplicate_term"
REGEX_IN_TERM = "regex_in_term"
UNKNOWN_LANGUAGE = "unknown_language"
INVALID_TRANSLATION = "invalid_translation"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
# Terms are literal text. These characters (and ".+") only make sense in a pattern, so a term
# holding one is almost surely a regular expression that would never match as intended.
_REGEX_CHARS = set("\\^*?|[]{}()")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# "fingerprint" is what GET returns; accepted (and ignored) so a document can be sent back.
_TOP_KEYS = {"name", "version", "description", "case_sensitive", "whole_word", "terms",
             "keep", "mapped", "fingerprint"}
_TERM_KEYS = {"term", "translations", "case_sensitive", "whole_word", "note"}


class GlossaryError(ValueError):
    """Glossary input that cannot be accepted. ``status`` is the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def to_json(self) -> dict[str, Any]:
        """The body of an error response: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True)
class Term:
    """One glossary entry. With no ``translations`` it is kept as written in every language;
    with some, it becomes that fixed text in those target languages (and is left to the model
    in the others)."""

    text: str
    translations: Mapping[str, str] = field(default_factory=dict)
    case_sensitive: bool = False
    whole_word: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"term": self.text}
        if self.translations:
            out["translations"] = dict(sorted(self.translations.items()))
        out["case_sensitive"] = self.case_sensitive
        out["whole_word"] = self.whole_word
        return out


@dataclass(frozen=True, eq=False)
class Glossary:
    """The terms of one brand or room.

    ``version`` changes whenever the terms change (the translation cache key holds it);
    ``fingerprint`` is a hash of the content, equal for equal glossaries whatever their
    version. ``keep`` and ``mapped`` are shorthands for terms with the glossary's default
    options (``case_sensitive``, ``whole_word``); ``terms`` carry their own.
    """

    name: str
    version: int = 1
    keep: tuple[str, ...] = field(default=(), repr=False)
    mapped: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    terms: tuple[Term, ...] = field(default=(), repr=False)
    case_sensitive: bool = False
    whole_word: bool = True
    description: str = ""
    # Derived in __post_init__.
    all_terms: tuple[Term, ...] = field(init=False, repr=False)
    fingerprint: str = field(init=False, repr=False)
    matcher: TermMatcher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or self.version < 1:
            raise GlossaryError(INVALID_GLOSSARY, "'version' must be a positive integer")
        if isinstance(self.keep, str):
            raise GlossaryError(INVALID_GLOSSARY, "'keep' must be a list of terms")
        terms = [Term(t, {}, self.case_sensitive, self.whole_word) for t in self.keep]
        if not isinstance(self.mapped, Mapping):
            raise GlossaryError(INVALID_GLOSSARY, "'mapped' must map terms to translations")
        terms += [Term(t, tr, self.case_sensitive, self.whole_word)
                  for t, tr in self.mapped.items()]
        terms += list(self.terms)
        if len(terms) > MAX_TERMS:
            raise GlossaryError(TOO_MANY_TERMS, f"the glossary has {len(terms)} terms; "
                                f"the limit is {MAX_TERMS}", 413)
        clean = tuple(_check_term(t, i) for i, t in enumerate(terms))
        try:
            matcher = TermMatcher([(t.text, t.case_sensitive, t.whole_word) for t in clean])
        except ValueError as exc:
            raise GlossaryError(DUPLICATE_TERM, f"{exc}; each term may appear once "
                                "(case-insensitive terms compare without case)") from None
        canonical = json.dumps([t.to_json() for t in clean], sort_keys=True,
                               ensure_ascii=False)
        object.__setattr__(self, "all_terms", clean)
        object.__setattr__(self, "matcher", matcher)
        object.__setattr__(self, "fingerprint",
                           hashlib.sha256(canonical.encode()).hexdigest()[:16])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Glossary):
            return NotImplemented
        return (self.name, self.version, self.fingerprint) == \
            (other.name, other.version, other.fingerprint)

    def __hash__(self) -> int:
        return hash((self.name, self.version, self.fingerprint))

    @property
    def cache_id(self) -> str:
        """What a translation cache key should hold for this glossary: unique per content
        and version, and the same on every node (no counter to share)."""
        return f"{self.name}:{self.version}:{self.fingerprint}"

    def with_version(self, version: int) -> Glossary:
        """A copy with another version (what a REST update does: ``old.version + 1``)."""
        return Glossary(self.name, version, terms=self.all_terms,
                        description=self.description)

    # --- JSON -----------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Any, *, name: str | None = None,
                  version: int | None = None) -> Glossary:
        """Validate a decoded JSON document and build the glossary.

        ``name`` (from the URL) wins over a ``"name"`` in the document, which must then match.
        ``version`` overrides the document's (default 1). Raises ``GlossaryError``."""
        if not isinstance(data, dict):
            raise GlossaryError(INVALID_GLOSSARY, "a glossary is a JSON object with a 'terms' "
                                "list, e.g. {\"terms\": [{\"term\": \"Pink Friday Nails\"}]}")
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise GlossaryError(INVALID_GLOSSARY, f"unknown field {unknown[0]!r}; a glossary "
                                f"has {', '.join(sorted(_TOP_KEYS))}")
        doc_name = data.get("name")
        if doc_name is not None and not isinstance(doc_name, str):
            raise GlossaryError(INVALID_NAME, "'name' must be a string")
        if name is not None and doc_name is not None and doc_name != name:
            raise GlossaryError(INVALID_NAME, f"'name' is {doc_name!r} but the glossary is "
                                f"{name!r}")
        name = name if name is not None else doc_name
        if name is None:
            raise GlossaryError(INVALID_NAME, "the glossary has no 'name'")
        if version is None:
            version = data.get("version", 1)
        case_sensitive = _bool(data, "case_sensitive", False, "glossary")
        whole_word = _bool(data, "whole_word", True, "glossary")
        description = data.get("description", "")
        if not isinstance(description, str) or len(description) > 1000:
            raise GlossaryError(INVALID_GLOSSARY, "'description' must be a string of at most "
                                "1000 characters")
        keep = data.get("keep", [])
        if not isinstance(keep, list):
            raise GlossaryError(INVALID_GLOSSARY, "'keep' must be a list of terms")
        mapped = data.get("mapped", {})
        if not isinstance(mapped, dict):
            raise GlossaryError(INVALID_GLOSSARY, "'mapped' must be an object: "
                                "{\"lip gloss\": {\"pt\": \"gloss labial\"}}")
        raw_terms = data.get("terms", [])
        if not isinstance(raw_terms, list):
            raise GlossaryError(INVALID_GLOSSARY, "'terms' must be a list")
        total = len(keep) + len(mapped) + len(raw_terms)
        if total > MAX_TERMS:
            raise GlossaryError(TOO_MANY_TERMS, f"the glossary has {total} terms; the limit "
                                f"is {MAX_TERMS}", 413)
        terms: list[Term] = []
        for i, raw in enumerate(keep):
            terms.append(Term(_term_text(raw, i), {}, case_sensitive, whole_word))
        for i, (text, translations) in enumerate(mapped.items(), start=len(terms)):
            terms.append(Term(_term_text(text, i), _translations(translations, text),
                              case_sensitive, whole_word))
        for i, raw in enumerate(raw_terms, start=len(terms)):
            terms.append(_term_from_json(raw, i, case_sensitive, whole_word))
        if not terms:
            raise GlossaryError(EMPTY_TERM, "the glossary has no terms")
        return cls(name, version, terms=tuple(terms), description=description)

    def to_json(self) -> dict[str, Any]:
        """The canonical document (what GET returns): every term with its options."""
        out: dict[str, Any] = {"name": self.name, "version": self.version,
                               "fingerprint": self.fingerprint}
        if self.description:
            out["description"] = self.description
        out["terms"] = [t.to_json() for t in self.all_terms]
        return out


def parse_glossary(body: bytes | str, name: str, *, version: int | None = None) -> Glossary:
    """Build a glossary from a request body (PUT /v1/glossaries/{name}). Raises
    ``GlossaryError`` with status 400 (invalid JSON), 413 (too large) or 422 (content)."""
    size = len(body.encode() if isinstance(body, str) else body)
    if size > MAX_JSON_BYTES:
        raise GlossaryError(TOO_LARGE, f"the glossary document has {size} bytes; the limit is "
                            f"{MAX_JSON_BYTES}", 413)
    _check_name(name)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise GlossaryError(INVALID_JSON, f"the body is not valid JSON: {exc}", 400) from None
    return Glossary.from_json(data, name=name, version=version)


def next_version(old: Glossary | None, new: Glossary) -> Glossary:
    """The glossary to store when ``new`` replaces ``old``: unchanged content keeps the old
    version (cached translations stay valid), changed content gets ``old.version + 1``."""
    if old is None:
        return new
    if old.fingerprint == new.fingerprint:
        return old
    return new.with_version(max(old.version + 1, new.version))


def load_glossary_file(path: str | Path) -> Glossary:
    """A glossary from a JSON file; its name is the document's ``"name"`` or the file name
    without ``.json``. Raises ``GlossaryError`` naming the file."""
    path = Path(path)
    try:
        body = path.read_bytes()
        data = json.loads(body)
        name = data.get("name") if isinstance(data, dict) else None
        return Glossary.from_json(data, name=name if isinstance(name, str) else path.stem)
    except OSError as exc:
        raise GlossaryError(INVALID_GLOSSARY, f"{path}: {exc.strerror}", 400) from None
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, GlossaryError):
            raise GlossaryError(exc.code, f"{path}: {exc.message}", exc.status) from None
        raise GlossaryError(INVALID_JSON, f"{path}: not valid JSON: {exc}", 400) from None


def load_glossaries(paths: Iterable[str | Path]) -> dict[str, Glossary]:
    """Glossaries from files and directories (every ``*.json`` in a directory), by name.
    Raises ``GlossaryError`` for the first bad file or a name defined twice."""
    out: dict[str, Glossary] = {}
    for entry in paths:
        entry = Path(entry)
        files = sorted(entry.glob("*.json")) if entry.is_dir() else [entry]
        for file in files:
            g = load_glossary_file(file)
            if g.name in out:
                raise GlossaryError(INVALID_GLOSSARY, f"{file}: glossary {g.name!r} is "
                                    "defined twice", 400)
            out[g.name] = g
    return out


# --- validation helpers -------------------------------------------------------------------

def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise GlossaryError(INVALID_NAME, "glossary names are 1-64 characters of A-Z a-z 0-9 "
                            "_ . - and start with a letter or digit", 400)


def _bool(data: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise GlossaryError(INVALID_GLOSSARY, f"{where}: {key!r} must be true or false")
    return value


def _term_text(raw: Any, i: int) -> str:
    if not isinstance(raw, str):
        raise GlossaryError(INVALID_TERM, f"term {i}: a term is a string, not "
                            f"{type(raw).__name__}")
    return raw


def _term_from_json(raw: Any, i: int, case_sensitive: bool, whole_word: bool) -> Term:
    if isinstance(raw, str):
        return Term(raw, {}, case_sensitive, whole_word)
    if not isinstance(raw, dict):
        raise GlossaryError(INVALID_TERM, f"term {i}: each entry of 'terms' is a string or an "
                            "object like {\"term\": \"lip gloss\", \"translations\": "
                            "{\"pt\": \"gloss labial\"}}")
    unknown = sorted(set(raw) - _TERM_KEYS)
    if unknown:
        hint = " (did you mean 'translations'?)" if unknown[0].startswith("transl") else ""
        raise GlossaryError(INVALID_TERM, f"term {i}: unknown field {unknown[0]!r}{hint}; a "
                            f"term has {', '.join(sorted(_TERM_KEYS))}")
    if "term" not in raw:
        raise GlossaryError(EMPTY_TERM, f"term {i}: missing 'term'")
    text = _term_text(raw["term"], i)
    where = f"term {i} ({text[:40]!r})"
    return Term(text, _translations(raw.get("translations", {}), text),
                _bool(raw, "case_sensitive", case_sensitive, where),
                _bool(raw, "whole_word", whole_word, where))


def _translations(raw: Any, term: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise GlossaryError(INVALID_TRANSLATION, f"term {str(term)[:40]!r}: 'translations' "
                            "maps language codes to text, e.g. {\"pt\": \"gloss labial\"}")
    return dict(raw)


def _check_term(term: Term, i: int) -> Term:
    """Validate and normalise one term (whitespace collapsed, NFC, languages as ISO 639-1)."""
    if not isinstance(term, Term):
        raise GlossaryError(INVALID_TERM, f"term {i}: not a Term")
    text = _term_text(term.text, i)
    if _CONTROL_RE.search(text):
        raise GlossaryError(INVALID_TERM, f"term {i}: control characters are not allowed")
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not text:
        raise GlossaryError(EMPTY_TERM, f"term {i} is empty")
    if len(text) > MAX_TERM_CHARS:
        raise GlossaryError(TERM_TOO_LONG, f"term {i} ({text[:40]!r}...) has {len(text)} "
                            f"characters; the limit is {MAX_TERM_CHARS}")
    bad = sorted(_REGEX_CHARS & set(text)) or ([".+"] if ".+" in text else [])
    if bad:
        raise GlossaryError(REGEX_IN_TERM, f"term {i} ({text[:40]!r}) contains {bad[0]!r}: "
                            "terms are matched literally, not as regular expressions; list "
                            "each spelling as a term of its own")
    if not any(unicodedata.category(c)[0] in "LNS" for c in text):
        raise GlossaryError(INVALID_TERM, f"term {i} ({text!r}) has no letter, digit or "
                            "symbol")
    for flag in (term.case_sensitive, term.whole_word):
        if not isinstance(flag, bool):
            raise GlossaryError(INVALID_TERM, f"term {i}: options must be true or false")
    if not isinstance(term.translations, Mapping):
        raise GlossaryError(INVALID_TRANSLATION, f"term {i} ({text[:40]!r}): 'translations' "
                            "maps language codes to text")
    if len(term.translations) > MAX_LANGS_PER_TERM:
        raise GlossaryError(INVALID_TRANSLATION, f"term {i} ({text[:40]!r}) has "
                            f"{len(term.translations)} translations; the limit is "
                            f"{MAX_LANGS_PER_TERM}")
    translations: dict[str, str] = {}
    for lang, target in term.translations.items():
        code = normalize_lang(lang) if isinstance(lang, str) else None
        if code is None:
            raise GlossaryError(UNKNOWN_LANGUAGE, f"term {i} ({text[:40]!r}): {str(lang)[:20]!r}"
                                " is not an ISO 639-1 language code (e.g. 'en', 'pt', 'ko')")
        if code in translations:
            raise GlossaryError(INVALID_TRANSLATION, f"term {i} ({text[:40]!r}): two "
                                f"translations for {code!r}")
        if not isinstance(target, str) or not target.strip() or _CONTROL_RE.search(target):
            raise GlossaryError(INVALID_TRANSLATION, f"term {i} ({text[:40]!r}): the {code!r} "
                                "translation must be non-empty text without control characters")
        if len(target) > MAX_TRANSLATION_CHARS:
            raise GlossaryError(INVALID_TRANSLATION, f"term {i} ({text[:40]!r}): the {code!r} "
                                f"translation is longer than {MAX_TRANSLATION_CHARS} characters")
        translations[code] = " ".join(unicodedata.normalize("NFC", target).split())
    return Term(text, translations, term.case_sensitive, term.whole_word)


__all__ = [
    "MAX_TERMS", "Glossary", "GlossaryError", "Term", "load_glossaries", "load_glossary_file",
    "next_version", "normalise_term", "parse_glossary",
]
