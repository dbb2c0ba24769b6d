"""Writing systems: which script a comment is written in, and which languages use it.

Scripts used by one chat language decide on their own (Hangul -> ko, Thai -> th). Scripts
shared by several languages (Latin, Cyrillic, Arabic, Devanagari, ...) only narrow the choice:
the model, the chat lexicon and the sender's declared language pick within the set.
"""

from __future__ import annotations

import re

from babelcast.langid.codes import ISO_639_1

# Letter ranges (after NFKC and case folding) per script. Combining marks of a script belong
# to it; generic combining diacritics (U+0300-036F) are counted with Latin.
_RANGES: dict[str, str] = {
    "Latin": "a-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u0300-\u036f"
             "\u1d00-\u1dbf\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\uab30-\uab6f",
    "Cyrillic": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "Greek": "\u0370-\u03ff\u1f00-\u1fff",
    "Armenian": "\u0531-\u058f",
    "Hebrew": "\u0590-\u05ff",
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Thaana": "\u0780-\u07bf",
    "Devanagari": "\u0900-\u097f\ua8e0-\ua8ff",
    "Bengali": "\u0980-\u09ff",
    "Gurmukhi": "\u0a00-\u0a7f",
    "Gujarati": "\u0a80-\u0aff",
    "Oriya": "\u0b00-\u0b7f",
    "Tamil": "\u0b80-\u0bff",
    "Telugu": "\u0c00-\u0c7f",
    "Kannada": "\u0c80-\u0cff",
    "Malayalam": "\u0d00-\u0d7f",
    "Sinhala": "\u0d80-\u0dff",
    "Thai": "\u0e00-\u0e7f",
    "Lao": "\u0e80-\u0eff",
    "Tibetan": "\u0f00-\u0fff",
    "Myanmar": "\u1000-\u109f\uaa60-\uaa7f",
    "Georgian": "\u10a0-\u10ff\u1c90-\u1cbf\u2d00-\u2d2f",
    "Hangul": "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff",
    "Ethiopic": "\u1200-\u139f\u2d80-\u2ddf",
    "Khmer": "\u1780-\u17ff\u19e0-\u19ff",
    # Kana, plus the iteration marks and prolonged sound mark that only Japanese uses.
    "Kana": "\u3005\u3006\u303b\u3040-\u30ff\u31f0-\u31ff\U0001b000-\U0001b16f",
    "Han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f",
}

SCRIPT_RUN_RE = re.compile("|".join(f"(?P<{name}>[{chars}]+)" for name, chars in _RANGES.items()))
LATIN_ONLY_RE = re.compile(f"[^{_RANGES['Latin']}' ]")

# A Han character or a kana stands for about a word's worth of Latin letters.
SCRIPT_WEIGHT: dict[str, int] = {"Han": 3, "Kana": 3, "Hangul": 3}

# Scripts that decide the language by themselves.
SCRIPT_LANGUAGE: dict[str, str] = {
    "Hangul": "ko", "Kana": "ja", "Thai": "th", "Lao": "lo", "Khmer": "km", "Myanmar": "my",
    "Georgian": "ka", "Armenian": "hy", "Greek": "el", "Thaana": "dv", "Tibetan": "bo",
    "Sinhala": "si", "Tamil": "ta", "Telugu": "te", "Kannada": "kn", "Malayalam": "ml",
    "Gujarati": "gu", "Gurmukhi": "pa", "Oriya": "or",
}

def _codes(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


# Scripts shared by several languages: the model chooses among these.
SCRIPT_LANGUAGES: dict[str, frozenset[str]] = {
    "Cyrillic": _codes("ru uk be bg mk sr kk ky tg tt ba cv ce os mn av kv"),
    "Arabic": _codes("ar fa ur ps sd ug ku ks"),
    "Hebrew": frozenset({"he", "yi"}),
    "Devanagari": frozenset({"hi", "mr", "ne"}),
    "Bengali": frozenset({"bn", "as"}),
    "Ethiopic": frozenset({"am", "ti"}),
    "Han": frozenset({"zh", "ja"}),
}

_NEVER_LATIN = (frozenset(SCRIPT_LANGUAGE.values()) | frozenset({"zh", "ja", "ko"})
                | frozenset().union(*SCRIPT_LANGUAGES.values())) - {"sr", "ku"}
SCRIPT_LANGUAGES["Latin"] = ISO_639_1 - _NEVER_LATIN

# Han characters that Japanese does not use: simplified forms, and traditional forms where
# Japanese has its own (shinjitai), plus Chinese sentence particles.
ZH_ONLY_HAN = frozenset(
    "这个么们发货买卖东码颜钱没还说给吗呢吧啊哪谁为怎样从对点过链邮单优红绿蓝运费现实亲爱质"
    "长宽适库请谢欢裤"
    "這個麼們發貨買賣東碼顏錢沒還說給嗎為從對點過鏈單優紅運歡裡喔囉嘛呀哦啦咋"
)
# Han characters only Japanese uses (shinjitai and kokuji).
JA_ONLY_HAN = frozenset(
    "円気売読発駅図広楽様込払沢済検験変恋戦桜歳絵続転伝働峠畑枠匂値黒薬単労営県鉄権実対応価"
    "縁悪歩浜拡児険剤斎処挿摂焼粋舗弁両覚鶏亜渋"
)


def script_counts(text: str) -> dict[str, int]:
    """Weighted letter count per script of already cleaned text."""
    counts: dict[str, int] = {}
    for m in SCRIPT_RUN_RE.finditer(text):
        name = m.lastgroup or ""
        counts[name] = counts.get(name, 0) + (m.end() - m.start()) * SCRIPT_WEIGHT.get(name, 1)
    return counts
