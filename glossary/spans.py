"""Spans of chat text that are never translated.

Glossary terms, plus what a translation model mangles and a reader needs verbatim: URLs,
e-mail addresses, @mentions, #hashtags, emoji (skin tones, ZWJ sequences, flags, keycaps),
prices and currency amounts, and codes (coupon codes, SKUs, order and tracking numbers).

Overlaps are resolved longest first ("https://shop.example.com/pink-friday-nails" is one URL,
not a URL with a glossary term inside); on equal length glossary terms win, then the kinds in
the order of ``KINDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import regex

if TYPE_CHECKING:
    from babelcast.glossary.model import Glossary, Term

TERM = "term"
URL = "url"
EMAIL = "email"
MENTION = "mention"
HASHTAG = "hashtag"
EMOJI = "emoji"
PRICE = "price"
CODE = "code"
KINDS = (TERM, URL, EMAIL, PRICE, CODE, MENTION, HASHTAG, EMOJI)
_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` is protected. ``term`` is the glossary term it matched (kind
    "term" only); ``output`` is what the translation shows in its place."""

    start: int
    end: int
    kind: str
    text: str
    output: str
    term: str | None = None


_TLDS = ("com|net|org|info|biz|io|co|me|ly|gl|gg|tv|app|dev|link|page|site|online|shop|store|"
         "live|blog|xyz|br|pt|us|uk|es|fr|de|it|nl|mx|ar|cl|pe|jp|cn|kr|in|ca|au|ru|eu")
# A letter or digit of a script that spaces its words: codes and prices must not continue one,
# but may sit right next to CJK text ("订单A12345号").
_WORD = r"[\p{Latin}\p{Greek}\p{Cyrillic}\p{Armenian}\p{Georgian}\d_]"
# What a URL in chat is made of: not spaces, quotes, emoji, or CJK text and punctuation (which
# follow a link without a space in Chinese or Japanese chat).
_URL_CHAR = (r"[^\s<>\"“”‘’\p{Extended_Pictographic}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
             r"\u3000-\u303f\uff00-\uffef]")
_SPACE = r"[ \u00a0\u202f]"  # a space a price may hold ("R$ 49,90", "1 299,00 €")
# 1.299,00 / 1,299.99 / 1 299,00 / 49,90 / 19.99 / 1299 (grouping only in threes)
_AMOUNT = r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_ISO_CURRENCY = ("USD|EUR|BRL|GBP|JPY|CNY|RMB|KRW|MXN|ARS|CLP|COP|PEN|UYU|CAD|AUD|NZD|CHF|SEK|"
                 "NOK|DKK|PLN|CZK|HUF|TRY|RUB|INR|IDR|THB|VND|PHP|MYR|SGD|HKD|TWD|ZAR|AED")

_PATTERNS: list[tuple[str, regex.Pattern[str]]] = [
    (URL, regex.compile(rf"(?i)(?<!{_WORD}|[@/.-])(?:https?://|www\.){_URL_CHAR}+")),
    (URL, regex.compile(
        rf"(?i)(?<!{_WORD}|[@/.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})(?:\.[a-z]{{2}})?"
        rf"(?::\d+)?(?:/{_URL_CHAR}*)?(?!{_WORD}|[@-])")),
    (EMAIL, regex.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (MENTION, regex.compile(r"(?<![\w@.])@\w(?:[\w.]*\w)?")),
    (HASHTAG, regex.compile(r"(?<![\w#&])#[\p{L}\p{N}_]\w*")),
    (EMOJI, regex.compile(
        r"(?:(?=\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}"
        r"|[#*0-9]\ufe0f?\u20e3)\X)+")),
    # A currency symbol (with "R$", "US$", "MX$" ...) or ISO code before or after an amount.
    (PRICE, regex.compile(
        rf"(?<!{_WORD}|[.,])(?:(?:[A-Z]{{1,3}})?\p{{Sc}}|(?:{_ISO_CURRENCY}){_SPACE}?){_SPACE}?"
        rf"(?:{_AMOUNT})(?!\d|[.,]\d)")),
    (PRICE, regex.compile(
        rf"(?<!{_WORD}|[.,$])(?:{_AMOUNT}){_SPACE}?(?:\p{{Sc}}|(?:{_ISO_CURRENCY})(?!\w))")),
    # Latin letters and digits mixed, 4+ characters: SKUs, coupon codes, order ids (A12345,
    # GLOW20, SKU-2231-B). Digit runs of 5+: order, tracking and phone numbers.
    (CODE, regex.compile(
        rf"(?<!{_WORD}|[@#/.-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])"
        rf"(?=[A-Za-z0-9_-]{{4}})[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*(?!{_WORD}|[@/-])")),
    (CODE, regex.compile(rf"(?<!{_WORD}|[.,])\d{{5,}}(?:-\d+)*(?!{_WORD}|[.,]\d)")),
]
# An upper-case code after a word that introduces one ("code GLOWUP", "cupom BLACK-FRIDAY").
_KEYWORD_CODE = regex.compile(
    r"(?i:\b(?:promo\s*)?(?:codes?|coupons?|vouchers?|cupom|cupons|cup[aã]o|c[oó]digo|"
    r"promo)\b)\s*:?\s*(?P<code>(?-i:[A-Z][A-Z0-9]{2,}(?:[-_][A-Z0-9]+)*))(?![\w-])")
# A number with a short lower-case unit is a quantity, not a code: 21st, 10am, 100ml, 2kg.
_QUANTITY = regex.compile(r"\d+[a-z]{1,3}")
_URL_TRAILING = ".,;:!?'\"…)]}»"


def _trim_url(text: str, start: int, end: int) -> int:
    """Leave sentence punctuation after a URL outside it (keeping balanced parentheses)."""
    while end > start and text[end - 1] in _URL_TRAILING:
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


def pattern_spans(text: str) -> list[Span]:
    """Every candidate span found by the patterns (overlapping; ``find_spans`` picks)."""
    out: list[Span] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if kind == URL:
                end = _trim_url(text, start, end)
            elif kind == CODE and _QUANTITY.fullmatch(m.group()):
                continue
            if end > start:
                out.append(Span(start, end, kind, text[start:end], text[start:end]))
    for m in _KEYWORD_CODE.finditer(text):
        start, end = m.span("code")
        out.append(Span(start, end, CODE, text[start:end], text[start:end]))
    return out


def term_spans(text: str, glossary: Glossary, tgt: str | None) -> list[Span]:
    """Every occurrence of a glossary term. ``output`` is what the translation shows: a kept
    term as the comment wrote it ("pink friday nails" stays so), a mapped term in its fixed
    translation for ``tgt``, or empty when the term has none for ``tgt`` (not protected)."""
    terms: tuple[Term, ...] = glossary.all_terms
    out: list[Span] = []
    for m in glossary.matcher.find(text):
        term = terms[m.term_index]
        found = text[m.start:m.end]
        output = term.translations.get(tgt or "", "") if term.translations else found
        out.append(Span(m.start, m.end, TERM, found, output, term.text))
    return out


def resolve(candidates: list[Span]) -> list[Span]:
    """Non-overlapping spans, longest first (then earliest, then by kind), in text order."""
    if not candidates:
        return []
    ordered = sorted(candidates, key=lambda s: (s.start - s.end, s.start, _RANK[s.kind]))
    taken = bytearray(max(s.end for s in candidates))
    chosen: list[Span] = []
    for s in ordered:
        if any(taken[s.start:s.end]):
            continue
        taken[s.start:s.end] = b"\x01" * (s.end - s.start)
        chosen.append(s)
    chosen.sort(key=lambda s: s.start)
    return chosen


def find_spans(text: str, glossary: Glossary | None = None, tgt: str | None = None,
               *, patterns: bool = True) -> list[Span]:
    """The protected spans of ``text`` in order, for translation into ``tgt``.

    Glossary terms are found whatever ``tgt`` is (so that hits are counted); a mapped term
    with no translation for ``tgt`` is returned with an empty ``output``: it is not protected,
    the model translates it."""
    found = pattern_spans(text) if patterns else []
    if glossary is None or not glossary.matcher.size:
        return resolve(found)
    chosen = resolve(found + term_spans(text, glossary, tgt))
    if all(s.output for s in chosen):
        return chosen
    # A term the model translates still hides nothing: protect what lies inside it.
    out: list[Span] = []
    for s in chosen:
        out.append(s)
        if not s.output:
            out += resolve([p for p in found if s.start <= p.start and p.end <= s.end])
    out.sort(key=lambda s: (s.start, -s.end))
    return out
