"""Per-room settings as the REST API changes them: which fields exist and how a settings update
is validated (``moderation_changes``...). The ``RoomSettings`` dataclass itself lives with its
stores (``stores.base``), which cannot import chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babelcast.gateway.chat.moderation import validate_entries
from babelcast.gateway.wire.codes import REACTIONS
from babelcast.langid import normalize_lang

__all__ = [
    "MAX_COMMENTS_PER_S",
    "MAX_SLOW_MODE_S",
    "MODERATION_FIELDS",
    "REACTION_FIELDS",
    "TRANSLATION_FIELDS",
    "moderation_changes",
    "reaction_changes",
    "translation_changes",
]

MAX_SLOW_MODE_S = 3600.0
MAX_COMMENTS_PER_S = 100_000
MODERATION_FIELDS = ("blocklist", "use_default_blocklist", "moderation_lang", "slow_mode_s",
                     "max_comments_per_s")
TRANSLATION_FIELDS = ("normalise_chat",)
REACTION_FIELDS = ("reactions",)


def reaction_changes(data: Mapping[str, Any]) -> dict[str, Any]:
    """The reaction fields present in a settings update, validated (``ValueError``): a list
    of known reactions, in the order the widget offers them ([] turns reactions off)."""
    if "reactions" not in data:
        return {}
    value = data["reactions"]
    if (not isinstance(value, list) or len(value) > len(REACTIONS)
            or not all(isinstance(r, str) and r in REACTIONS for r in value)):
        raise ValueError(f"'reactions' must be a list of reactions from {', '.join(REACTIONS)} "
                         "([] turns reactions off)")
    return {"reactions": tuple(dict.fromkeys(value))}


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
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 5.0 is the whole number 5
        if (isinstance(value, bool) or not isinstance(value, int)
                or not 0 <= value <= MAX_COMMENTS_PER_S):
            raise ValueError(f"'max_comments_per_s' must be a whole number from 0 (off) to "
                             f"{MAX_COMMENTS_PER_S}")
        changes["max_comments_per_s"] = value
    return changes
