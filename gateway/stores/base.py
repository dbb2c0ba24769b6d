"""The store seams: ``GlossaryStore`` (named, versioned glossaries), ``RoomSettingsStore``
(each room's settings) and ``IdempotencyStore`` (the server API's idempotency keys), as
``typing.Protocol``s, with ``RoomSettings`` and the one error a store raises.

Implementations: ``stores.memory`` (one process) and ``stores.redis`` (shared by every node);
the composition root picks one by URL. Callers type against these protocols.

Errors: ``GlossaryError`` (``babelcast.glossary``) for a glossary that does not parse;
``StoreUnavailable`` when a shared store cannot be reached (its message names where and says
what to do). Reads of a shared store do not raise for an outage: they answer with the last
value this node saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from babelcast.gateway.wire.codes import REACTIONS
from babelcast.glossary import Glossary

# How long an idempotency key answers a retry with the first call's answer (a day, as the
# common payment APIs keep theirs).
IDEMPOTENCY_TTL_S = 86_400.0


class StoreUnavailable(RuntimeError):
    """A shared store cannot be reached: a write was not stored, or start-up failed."""


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
    comments before translation (default on). ``reactions``: the reactions viewers may send
    (a subset of ``wire.codes.REACTIONS``, all by default; empty: reactions are off)."""

    glossary: str | None = None
    languages: tuple[str, ...] = ()
    blocklist: tuple[str, ...] = ()
    use_default_blocklist: bool = True
    moderation_lang: str = "en"
    slow_mode_s: float = 0.0
    max_comments_per_s: int = 0
    normalise_chat: bool = True
    reactions: tuple[str, ...] = REACTIONS

    def to_json(self) -> dict[str, object]:
        return {"glossary": self.glossary, "languages": list(self.languages),
                "blocklist": list(self.blocklist),
                "use_default_blocklist": self.use_default_blocklist,
                "moderation_lang": self.moderation_lang, "slow_mode_s": self.slow_mode_s,
                "max_comments_per_s": self.max_comments_per_s,
                "normalise_chat": self.normalise_chat, "reactions": list(self.reactions)}

    def to_list(self) -> list[Any]:
        """Compact form for a shared store (``from_list`` reads it back)."""
        return [self.glossary, list(self.languages), list(self.blocklist),
                self.use_default_blocklist, self.moderation_lang, self.slow_mode_s,
                self.max_comments_per_s, self.normalise_chat, list(self.reactions)]

    @classmethod
    def from_list(cls, values: list[Any]) -> RoomSettings:
        """Inverse of ``to_list``; entries written before moderation (two fields), the chat
        stage (seven) or reactions (eight) existed get the defaults of what they lack."""
        glossary, languages, *rest = values
        base = cls(glossary=glossary, languages=tuple(languages))
        if not rest:
            return base
        blocklist, use_default, lang, slow, cap, *later = rest
        return cls(glossary=glossary, languages=tuple(languages), blocklist=tuple(blocklist),
                   use_default_blocklist=use_default, moderation_lang=lang, slow_mode_s=slow,
                   max_comments_per_s=cap, normalise_chat=later[0] if later else True,
                   reactions=tuple(later[1]) if len(later) > 1 else REACTIONS)


class GlossaryStore(Protocol):
    """Named glossaries with versions: unchanged content keeps its version, changed content
    gets the next one, so translations cached under an old version are never served."""

    async def start(self) -> None:
        """Connect (a shared store); raises ``StoreUnavailable`` naming where."""

    async def close(self) -> None:
        """Release connections."""

    async def put(self, name: str, body: bytes) -> tuple[Glossary, bool]:
        """Validate and store ``body`` as glossary ``name``; returns it and whether it is new.
        Raises ``GlossaryError``, or ``StoreUnavailable``."""
        ...

    async def get(self, name: str) -> Glossary | None:
        """The glossary ``name``, or None."""
        ...

    def get_built(self, name: str, cache_id: str) -> Glossary | None:
        """The glossary whose ``cache_id`` is ``cache_id`` if this node has it at hand (no
        round trip; None otherwise)."""
        ...

    async def names(self) -> list[Glossary]:
        """Every glossary, sorted by name."""
        ...

    async def delete(self, name: str) -> bool:
        """Remove a glossary (whether there was one); raises ``StoreUnavailable``."""
        ...


class RoomSettingsStore(Protocol):
    """Settings of every room; rooms never configured have the defaults (``RoomSettings()``)."""

    async def start(self) -> None:
        """Connect (a shared store); raises ``StoreUnavailable`` naming where."""

    async def close(self) -> None:
        """Release connections."""

    async def get(self, room: str) -> RoomSettings:
        """The room's settings."""
        ...

    async def put(self, room: str, settings: RoomSettings) -> None:
        """Store the room's settings (the defaults remove them); raises ``StoreUnavailable``."""
        ...


@dataclass(frozen=True)
class IdempotencyRecord:
    """What an idempotency key holds: the ``fingerprint`` of the request that first used it
    and that request's ``answer`` (its response body), or None while it is still in flight."""

    fingerprint: str
    answer: str | None


class IdempotencyStore(Protocol):
    """Idempotency keys of the server API, per room, each kept for a bounded time: a retried
    call finds the first call's answer instead of doing the work again."""

    async def start(self) -> None:
        """Connect (a shared store); raises ``StoreUnavailable`` naming where."""

    async def close(self) -> None:
        """Release connections."""

    async def claim(self, room: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
        """Take ``key`` for a call: None when it was free (this call now holds it), otherwise
        what it holds. Raises ``StoreUnavailable``."""
        ...

    async def settle(self, room: str, key: str, fingerprint: str, answer: str) -> None:
        """Record the answer of the call that holds ``key``. Raises ``StoreUnavailable``."""
        ...

    async def release(self, room: str, key: str) -> None:
        """Free ``key`` after its call failed, so that a retry does the work (never raises)."""
        ...
