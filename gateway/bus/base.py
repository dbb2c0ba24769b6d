"""The ``Bus`` seam and the rules every backend shares.

The bus carries a room's events in one order (comments, translations, deletions, pin changes)
and keeps the room's recent history for resume. Which languages are present and the room's
state (pins, mutes) are seams of their own (``bus.presence``, ``bus.state``), so each consumer
gets only what it uses. ``MemoryBus`` is the embedded single-process default; ``RedisBus`` lets
several nodes share rooms.

Errors (every error a bus, presence or room-state backend raises):

- ``BusUnavailable`` (``RuntimeError``): the backing service (Redis) cannot be reached, at
  start-up or for longer than a backend's outage limit.
- ``UnknownMessage`` (``LookupError``): the message id is not (or no longer) in history.

Ids and epochs: a room's message ids count up from 1 and are never reused under one ``epoch``.
The epoch changes when ids start over (a memory bus restarted, Redis lost its data), so a
client resuming with an id of another epoch gets a fresh history (``gap: true``) instead of a
wrong slice, and a translation made for a message of another epoch is never attached to the
message that now has its id. A bus that finds its epoch changed delivers ``EpochChanged`` to
its subscribers before any event of the new epoch.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from babelcast.gateway.events import ChatMessage, ReactionsCounted, RoomEvent
from babelcast.translation import Translation


class BusUnavailable(RuntimeError):
    """The bus' backing service cannot be reached."""


class UnknownMessage(LookupError):
    """The message id is not (or no longer) in the room's history."""


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
    origin: str = ""  # "shop", "host" or "system" when posted through the server API


def message_from_draft(draft: CommentDraft, message_id: int, ts: float, epoch: str,
                       replaces: int = 0) -> ChatMessage:
    """The message a published (or provisionally held) draft becomes."""
    return ChatMessage(id=message_id, room=draft.room, user=draft.user, user_id=draft.user_id,
                       text=draft.text, src_lang=draft.src_lang, ts=ts,
                       translations=dict(draft.translations),
                       glossary_hits=draft.glossary_hits, question=draft.question,
                       replaces=replaces, owed=draft.owed, epoch=epoch,
                       origin=draft.origin)


@dataclass(frozen=True)
class RoomStats:
    """What the bus knows of a room for ``GET /v1/rooms/{room}`` (viewers come from
    presence)."""

    messages: int
    translations: int
    last_id: int


@dataclass(frozen=True)
class Resume:
    """Where a history read after ``since`` starts. ``after`` None: the latest window (the
    client is ahead of the room: ids restarted), else the messages after that id; ``gap``:
    some messages the client has not seen are no longer in history."""

    after: int | None
    gap: bool


def resume_after(since: int, last_id: int, trimmed_through: int) -> Resume:
    """The history rule every backend follows for a client that has seen ids up to
    ``since``, in a room whose newest id is ``last_id`` and whose history no longer holds the
    ids up to ``trimmed_through`` (trimmed because it was full)."""
    if since > last_id:
        # A client ahead of the room: ids restarted; send everything and say so.
        return Resume(None, True)
    # Deleted messages are not a gap; only those trimmed from a full history are.
    return Resume(since, since < trimmed_through)


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
    """Publish/subscribe of room events and per-room history.

    ``epoch`` names the sequence message ids belong to (see the module docstring); every
    message carries the epoch it was published under."""

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
    async def publish_translation(self, room: str, message_id: int, translation: Translation,
                                  *, epoch: str) -> bool:
        """Attach a translation to the message ``message_id`` of ``epoch`` in history and
        deliver the event. Returns False when the message has left history, already had that
        language, or ``epoch`` is no longer the bus' (the id may name another message now). The
        one exception to "already had": a translated translation replaces an untranslated one
        (a retry of a translation that failed), once."""

    @abstractmethod
    async def translation(self, room: str, message_id: int, lang: str,
                          *, epoch: str) -> Translation | None:
        """The translation into ``lang`` published for message ``message_id`` of ``epoch``,
        if any."""

    @abstractmethod
    async def delete_message(self, room: str, message_id: int,
                             *, epoch: str | None = None) -> bool:
        """Remove a message from history (and the pin, if it was pinned) and deliver
        ``MessageDeleted``. Returns False when the message is not in history, or ``epoch``
        is given and is no longer the bus'."""

    @abstractmethod
    async def subscribe(self, room: str) -> Subscription:
        """Start receiving the room's events: every event published after this returns."""

    @abstractmethod
    async def history(self, room: str, since: int | None = None,
                      limit: int | None = None) -> tuple[list[ChatMessage], bool]:
        """Messages after ``since`` (or the last ``limit``), oldest first, and whether some
        messages after ``since`` have already left history (a gap)."""

    @abstractmethod
    async def stats(self, room: str) -> RoomStats | None:
        """Counts for the room, or None if no message was ever published or read there."""

    @abstractmethod
    async def publish_reactions(self, partial: ReactionsCounted) -> None:
        """Deliver one node's reaction counts of one interval to every subscriber of the room
        (on every node). Not kept in history; a live signal, so a backend that cannot reach
        its service drops it rather than retrying."""

    @abstractmethod
    async def has_message(self, room: str, message_id: int) -> bool:
        """Whether message ``message_id`` is in the room's history now."""
