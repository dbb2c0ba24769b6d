"""The degraded-mode outbox: comments accepted while the shared backend (Redis) is
unreachable.

A comment that cannot be published is held here, in its room's queue, and delivered at once
to this node's own viewers as a provisional message (a negative id, ``~n`` on the wire). A
task per room publishes the held comments in order when the backend is back; each carries its
provisional number, so every node delivers the published message with ``replaces`` and its
viewers swap the entry in place. Translations that land while a comment is held are shown
locally at once and published with the comment (or right after it)."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from babelcast.gateway.bus.base import BusUnavailable, CommentDraft
from babelcast.gateway.events import (
    ChatMessage,
    CommentPublished,
    RoomEvent,
    TranslationPublished,
)
from babelcast.translation import Translation

Published = tuple[int, str]  # a held comment's id once published, and its epoch


@dataclass
class Held:
    """A comment accepted while the backend was unreachable, delivered locally as
    ``provisional`` and waiting in its room's outbox to be published."""

    provisional: ChatMessage  # id -n: what this node's viewers were shown
    draft: CommentDraft
    keys: Sequence[str]  # the backend's publish keys, with its token: a retry never doubles
    late: dict[str, Translation] = field(default_factory=dict)  # translations since held

    @property
    def number(self) -> int:
        """The provisional number (the id without its sign)."""
        return -self.provisional.id


class Outbox:
    """Held comments per room, in order, and the tasks that publish them.

    ``publish`` publishes one held comment (with its late translations) and returns its id
    and epoch, raising ``BusUnavailable`` while the backend is still away; ``publish_translation``
    publishes a translation that came after; ``deliver`` hands an event to this node's own
    subscribers of a room."""

    def __init__(self, publish: Callable[[Held], Awaitable[Published]],
                 publish_translation: Callable[[str, int, Translation, str], Awaitable[bool]],
                 deliver: Callable[[str, RoomEvent], None], *, limit: int,
                 backend: str) -> None:
        self._publish = publish
        self._publish_translation = publish_translation
        self._deliver = deliver
        self.limit = limit
        self.backend = backend  # named in errors: "Redis at redis://..."
        self._held: dict[str, deque[Held]] = {}
        self._by_number: dict[int, Held] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}
        self._published: OrderedDict[int, Published] = OrderedDict()  # provisional n -> id
        # Random start: provisional numbers of different nodes and restarts do not meet.
        self._numbers = itertools.count(secrets.randbelow(1 << 40) * 1000 + 1)

    def holds(self, room: str) -> bool:
        """Whether comments of ``room`` are waiting: a new one must queue behind them."""
        return bool(self._held.get(room))

    @property
    def waiting(self) -> int:
        """Comments held, in every room."""
        return sum(len(q) for q in self._held.values())

    def tasks(self) -> list[asyncio.Task[None]]:
        """The publishing tasks (to stop at shutdown)."""
        return list(self._flushers.values())

    def hold(self, msg: ChatMessage, draft: CommentDraft, keys: Sequence[str]) -> ChatMessage:
        """Hold ``draft`` (``msg`` is what it becomes): give it a provisional id, deliver it
        to this node's viewers, and publish it when the backend is back. Raises
        ``BusUnavailable`` when ``limit`` comments are already held."""
        if len(self._by_number) >= self.limit:
            raise BusUnavailable(f"{self.backend} is unreachable and this node already "
                                 f"holds {self.limit} unpublished comments")
        number = next(self._numbers)
        msg.id = -number
        held = Held(msg, draft, keys)
        self._held.setdefault(draft.room, deque()).append(held)
        self._by_number[number] = held
        self._deliver(draft.room, CommentPublished(msg))
        if draft.room not in self._flushers:
            self._flushers[draft.room] = asyncio.create_task(
                self._flush(draft.room), name=f"held-{draft.room}")
        return msg

    def published(self, number: int) -> Published | None:
        """The id (and epoch) the held comment ``~number`` was published under, once it
        was."""
        return self._published.get(number)

    def add_translation(self, room: str, number: int, translation: Translation) -> bool:
        """A translation of the still-held comment ``~number``: shown locally now, published
        with the comment later. False when that comment is unknown or has the language."""
        held = self._by_number.get(number)
        if held is None or translation.lang in held.late:
            return False
        held.late[translation.lang] = translation
        held.provisional.translations[translation.lang] = translation
        self._deliver(room, TranslationPublished(room, -number, translation))
        return True

    async def _flush(self, room: str) -> None:
        """Publish the room's held comments, oldest first, as soon as the backend takes
        them."""
        queue = self._held[room]
        try:
            while queue:
                held = queue[0]
                try:
                    mid, epoch = await self._publish(held)
                except BusUnavailable:
                    continue  # still down: keep it, keep trying
                queue.popleft()
                del self._by_number[held.number]
                self._published[held.number] = (mid, epoch)
                while len(self._published) > self.limit:
                    self._published.popitem(last=False)
                for t in list(held.late.values()):
                    # No-ops for those the comment carried (each language is set once); the
                    # ones that came during the last attempt go out now.
                    await self._publish_translation(room, mid, t, epoch)
        finally:
            if not queue:
                self._held.pop(room, None)
            self._flushers.pop(room, None)
