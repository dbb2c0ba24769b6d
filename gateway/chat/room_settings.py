"""Per-room settings: the glossary a room uses, the languages its comments are written in, and
its moderation (blocklist, slow mode, rate cap; docs/moderation.md).

In memory for one process; a shared backend implements the same interface so every node
sees a change at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babelcast.gateway.chat.moderation import validate_entries
from babelcast.langid import normalize_lang

MAX_SLOW_MODE_S = 3600.0
MAX_COMMENTS_PER_S = 100_000
MODERATION_FIELDS = ("blocklist", "use_default_blocklist", "moderation_lang", "slow_mode_s",
                     "max_comments_per_s")
TRANSLATION_FIELDS = ("normalise_chat",)


@dataclass(frozen=True)
class RoomSettings:
    """``glossary``: name of the glossary applied to the room's translations (None: none).
    ``languages``: the languages comments may be in, narrowing language ID (empty: any).
    Moderation: ``blocklist`` (the room's own words and phrases), ``use_default_blocklist``
    (add the shipped lists of the moderation language and of each comment's language),
    ``moderation_lang`` (the language the blocklist is written in: comments in another
    language are also checked on their translation into it), ``slow_mode_s`` (minimum
    seconds between one viewer's comments; 0: off), ``max_comments_per_s`` (room-wide cap,
    lowest priority shed first; 0: off). ``normalise_chat``: run the chat stage (abbreviations,
    accents, casing, commerce terms, reactions; docs/translation-quality.md) on the room's
    comments before translation (default on)."""

    glossary: str | None = None
    languages: tuple[str, ...] = ()
    blocklist: tuple[str, ...] = ()
    use_default_blocklist: bool = True
    moderation_lang: str = "en"
    slow_mode_s: float = 0.0
    max_comments_per_s: int = 0
    normalise_chat: bool = True

    def to_json(self) -> dict[str, object]:
        return {"glossary": self.glossary, "languages": list(self.languages),
                "blocklist": list(self.blocklist),
                "use_default_blocklist": self.use_default_blocklist,
                "moderation_lang": self.moderation_lang, "slow_mode_s": self.slow_mode_s,
                "max_comments_per_s": self.max_comments_per_s,
                "normalise_chat": self.normalise_chat}

    def to_list(self) -> list[Any]:
        """Compact form for a shared store (``from_list`` reads it back)."""
        return [self.glossary, list(self.languages), list(self.blocklist),
                self.use_default_blocklist, self.moderation_lang, self.slow_mode_s,
                self.max_comments_per_s, self.normalise_chat]

    @classmethod
    def from_list(cls, values: list[Any]) -> RoomSettings:
        """Inverse of ``to_list``; entries written before moderation (two fields) or the chat
        stage (seven) existed get the defaults of what they lack."""
        glossary, languages, *rest = values
        base = cls(glossary=glossary, languages=tuple(languages))
        if not rest:
            return base
        blocklist, use_default, lang, slow, cap, *later = rest
        return cls(glossary=glossary, languages=tuple(languages), blocklist=tuple(blocklist),
                   use_default_blocklist=use_default, moderation_lang=lang, slow_mode_s=slow,
                   max_comments_per_s=cap, normalise_chat=later[0] if later else True)


def translation_changes(data: Mapping[str, Any]) -> dict[str, Any]:
    """The translation fields present in a settings update, validated (``ValueError``)."""
    if "normalise_chat" in data and not isinstance(data["normalise_chat"], bool):
        raise ValueError("'normalise_chat' must be true or false")
    return {k: data[k] for k in TRANSLATION_FIELDS if k in data}


def moderation_changes(data: Mapping[str, Any]) -> dict[str, Any]:
    """The moderation fields present in a settings update, validated. Raises ``ValueError``
    with a message that says what to send."""
    changes: dict[str, Any] = {}
    if "blocklist" in data:
        changes["blocklist"] = validate_entries(data["blocklist"])
    if "use_default_blocklist" in data:
        if not isinstance(data["use_default_blocklist"], bool):
            raise ValueError("'use_default_blocklist' must be true or false")
        changes["use_default_blocklist"] = data["use_default_blocklist"]
    if "moderation_lang" in data:
        value = data["moderation_lang"]
        lang = normalize_lang(value) if isinstance(value, str) else None
        if lang is None:
            raise ValueError(f"'moderation_lang' must be an ISO 639-1 code like 'en'; got "
                             f"{repr(value)[:40]}")
        changes["moderation_lang"] = lang
    if "slow_mode_s" in data:
        value = data["slow_mode_s"]
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not 0 <= value <= MAX_SLOW_MODE_S):
            raise ValueError(f"'slow_mode_s' must be a number of seconds from 0 (off) to "
                             f"{MAX_SLOW_MODE_S:g}")
        changes["slow_mode_s"] = float(value)
    if "max_comments_per_s" in data:
        value = data["max_comments_per_s"]
        if (isinstance(value, bool) or not isinstance(value, int)
                or not 0 <= value <= MAX_COMMENTS_PER_S):
            raise ValueError(f"'max_comments_per_s' must be a whole number from 0 (off) to "
                             f"{MAX_COMMENTS_PER_S}")
        changes["max_comments_per_s"] = value
    return changes
