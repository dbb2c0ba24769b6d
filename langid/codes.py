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
