"""The ``Bus`` seam: room events, history for resume, and which languages are present.

``MemoryBus`` is the embedded single-process default. A Redis backend implements the same
interface for several nodes.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from babelcast.gateway.events import (
    ChatMessage,
    RoomEvent,
)
from babelcast.translation import Translation


@dataclass(frozen=True)
class CommentDraft:
    """A validated comment before the bus gives it an id."""

    room: str
    user: str
    user_id: str
    text: str
    src_lang: str
    translations: dict[str, Translation]
    glossary_hits: tuple[str, ...] = ()
    question: bool = False
    owed: tuple[str, ...] = ()  # translations the publishing node is still making


@dataclass(frozen=True)
class RoomStats:
    """What ``GET /v1/rooms/{room}`` reports."""

    viewers: dict[str, int]
    messages: int
    translations: int
    last_id: int


class UnknownMessage(LookupError):
    """The message id is not (or no longer) in the room's history."""


class Subscription:
    """The events of one room, in publish order, for one subscriber."""

    def __init__(self, room: str, on_close: Callable[[Subscription], None]) -> None:
        self.room = room
        self._on_close = on_close
        # Unbounded on purpose: the only reader is the node's own dispatcher, which never
        # awaits a viewer; slow viewers are bounded further down, per connection.
        self.queue: asyncio.Queue[RoomEvent] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[RoomEvent]:
        while True:
            yield await self.queue.get()

    @property
    def backlog(self) -> int:
        """Events waiting behind the one being handled."""
        return self.queue.qsize()

    def close(self) -> None:
        """Stop receiving events."""
        self._on_close(self)


class Bus(ABC):
    """Publish/subscribe of room events, per-room history, and language presence.

    ``epoch`` names the sequence message ids belong to: it changes when ids start over (a
    memory bus restarted), so a client resuming with an id from another epoch gets a fresh
    history instead of a wrong slice."""

    epoch: str
    degraded: bool = False  # the backing service is failing; operations are being retried

    async def start(self) -> None:  # noqa: B027 - optional hook, no-op for in-process buses
        """Connect to whatever backs the bus (nothing for the memory bus)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and background tasks."""

    @abstractmethod
    async def publish_comment(self, draft: CommentDraft) -> ChatMessage:
        """Assign the next id of the room, keep the message in history, deliver the event."""

    @abstractmethod
    async def publish_translation(self, room: str, message_id: int,
                                  translation: Translation) -> bool:
        """Attach a translation to a message in history and deliver the event.
        Returns False when the message has left history or already had that language; the
        one exception: a translated translation replaces an untranslated one (a retry of a
        translation that failed), once."""

    @abstractmethod
    async def translation(self, room: str, message_id: int, lang: str) -> Translation | None:
        """The message's translation into ``lang`` if one has been published."""

    @abstractmethod
    async def delete_message(self, room: str, message_id: int) -> bool:
        """Remove a message from history (and the pin, if it was pinned) and deliver
        ``MessageDeleted``. Returns False when the message is not in history."""

    @abstractmethod
    async def set_pinned(self, room: str, message_id: int | None) -> ChatMessage | None:
        """Pin a message of history (None: unpin) and deliver ``PinChanged``. Returns the
        pinned message; raises ``UnknownMessage`` when it is not in history."""

    @abstractmethod
    async def pinned(self, room: str) -> ChatMessage | None:
        """The pinned message, if any (a pin lapses when its message leaves history)."""

    @abstractmethod
    async def mute(self, room: str, user_id: str) -> None:
        """Mute ``user_id`` in ``room``: their later comments are refused."""

    @abstractmethod
    async def unmute(self, room: str, user_id: str) -> None:
        """Lift the mute of ``user_id`` in ``room`` (nothing happens if there was none)."""

    @abstractmethod
    async def is_muted(self, room: str, user_id: str) -> bool:
        """Whether ``user_id`` is muted in ``room``."""

    @abstractmethod
    async def subscribe(self, room: str) -> Subscription:
        """Start receiving the room's events: every event published after this returns."""

    @abstractmethod
    async def history(self, room: str, since: int | None = None,
                      limit: int | None = None) -> tuple[list[ChatMessage], bool]:
        """Messages after ``since`` (or the last ``limit``), oldest first, and whether some
        messages after ``since`` have already left history (a gap)."""

    @abstractmethod
    async def add_viewer(self, room: str, lang: str) -> None:
        """Count one more viewer reading ``lang`` in ``room``."""

    @abstractmethod
    async def remove_viewer(self, room: str, lang: str) -> None:
        """Count one viewer fewer."""

    @abstractmethod
    async def viewers(self, room: str) -> dict[str, int]:
        """Viewers per language in ``room``."""

    @abstractmethod
    async def stats(self, room: str) -> RoomStats | None:
        """Counts for the room, or None if the room has never been used."""
