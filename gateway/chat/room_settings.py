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


@dataclass(frozen=True)
class RoomSettings:
    """``glossary``: name of the glossary applied to the room's translations (None: none).
    ``languages``: the languages comments may be in, narrowing language ID (empty: any).
    Moderation: ``blocklist`` (the room's own words and phrases), ``use_default_blocklist``
    (add the shipped lists of the moderation language and of each comment's language),
    ``moderation_lang`` (the language the blocklist is written in: comments in another
    language are also checked on their translation into it), ``slow_mode_s`` (minimum
    seconds between one viewer's comments; 0: off), ``max_comments_per_s`` (room-wide cap,
    lowest priority shed first; 0: off)."""

    glossary: str | None = None
    languages: tuple[str, ...] = ()
    blocklist: tuple[str, ...] = ()
    use_default_blocklist: bool = True
    moderation_lang: str = "en"
    slow_mode_s: float = 0.0
    max_comments_per_s: int = 0

    def to_json(self) -> dict[str, object]:
        return {"glossary": self.glossary, "languages": list(self.languages),
                "blocklist": list(self.blocklist),
                "use_default_blocklist": self.use_default_blocklist,
                "moderation_lang": self.moderation_lang, "slow_mode_s": self.slow_mode_s,
                "max_comments_per_s": self.max_comments_per_s}

    def to_list(self) -> list[Any]:
        """Compact form for a shared store (``from_list`` reads it back)."""
        return [self.glossary, list(self.languages), list(self.blocklist),
                self.use_default_blocklist, self.moderation_lang, self.slow_mode_s,
                self.max_comments_per_s]

    @classmethod
    def from_list(cls, values: list[Any]) -> RoomSettings:
        """Inverse of ``to_list``; entries written before moderation existed have two
        fields and get the moderation defaults."""
        glossary, languages, *rest = values
        base = cls(glossary=glossary, languages=tuple(languages))
        if not rest:
            return base
        blocklist, use_default, lang, slow, cap = rest
        return cls(glossary=glossary, languages=tuple(languages), blocklist=tuple(blocklist),
                   use_default_blocklist=use_default, moderation_lang=lang, slow_mode_s=slow,
                   max_comments_per_s=cap)


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
