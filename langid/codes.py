"""ISO 639-1 language codes and normalisation of what clients send."""

from __future__ import annotations

_CODES = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
"""
# The ISO 639-1 codes ("und" is handled separately by callers).
ISO_639_1: frozenset[str] = frozenset(_CODES.split())

UNDETERMINED = "und"

# Legacy codes still seen in the wild (and in fastText's label set).
_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}


def normalize_lang(value: str) -> str | None:
    """Return the ISO 639-1 code for ``value`` ("pt-BR" -> "pt"), or None if it is not one.

    Region and script subtags are dropped because translation is per language, not per locale.
    """
    if not isinstance(value, str):
        return None
    base = value.strip().replace("_", "-").split("-", 1)[0].lower()
    base = _ALIASES.get(base, base)
    return base if base in ISO_639_1 else None


# lid.176 labels that are not ISO 639-1 codes, mapped to the closest ISO 639-1 language so that
# a comment can still be translated (a Swiss German or Egyptian Arabic comment is better read
# as German or Arabic than not at all). Labels missing here and not in ISO_639_1 are dropped
# (Cebuano, Waray, Ilocano, Low German, Zazaki, ...): their probability mass is ignored.
FASTTEXT_ALIASES: dict[str, str] = {
    "arz": "ar",  # Egyptian Arabic
    "azb": "az",  # South Azerbaijani
    "ckb": "ku",  # Central Kurdish (Sorani)
    "pnb": "pa",  # Western Punjabi (Shahmukhi)
    "wuu": "zh", "yue": "zh",  # Wu, Cantonese
    "als": "de", "bar": "de", "pfl": "de",  # Alemannic, Bavarian, Palatine German
    "sco": "en",  # Scots
    "sh": "hr",  # Serbo-Croatian (Latin-script wiki)
    "mzn": "fa", "lrc": "fa",  # Mazanderani, Northern Luri
    "min": "id",  # Minangkabau
    "ast": "es", "mwl": "pt",  # Asturian, Mirandese
    "vls": "nl",  # West Flemish
    "eml": "it", "lmo": "it", "nap": "it", "pms": "it", "scn": "it", "vec": "it",
    "dty": "ne", "mai": "hi", "bh": "hi",  # Doteli, Maithili, Bihari
    "rue": "uk",  # Rusyn
    "xmf": "ka",  # Mingrelian
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro",
}

# ISO 639-1 languages lid.176 knows but nobody chats in (dead or constructed); fastText
# likes them for short, noisy text ("Quanto custa esse batom?" -> Latin).
NOT_CHAT_LANGUAGES: frozenset[str] = frozenset({"la", "eo", "io", "ia", "ie", "vo", "sa", "cu"})


def label_to_lang(label: str) -> str | None:
    """ISO 639-1 code for a fastText label ("__label__wuu" -> "zh"), or None when it has none."""
    code = label.removeprefix("__label__")
    code = FASTTEXT_ALIASES.get(code, code)
    return code if code in ISO_639_1 else None
