"""Reactions and likes, aggregated: never one frame per like.

Two halves, one per side of the bus:

- ``ReactionAggregator`` (this node's viewers' reactions): checks each reaction against the
  room's settings and history, counts it, and once per interval publishes one partial count per
  room that had any (``ReactionsCounted``) on the bus.
- ``ReactionWindow`` (one room, the receiving side): sums the partial counts every node
  published and paces the room's ``reactions`` frames: at most one per interval, the first at
  once when none went out in the last interval, later ones at the end of the interval.

So a room's viewers get at most one ``reactions`` frame per interval whatever the number of
likes or nodes, and the counts they add up are the cluster's, not one node's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from babelcast.gateway.events import ReactionsCounted
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.errors import ProtocolError

log = logging.getLogger("babelcast.reactions")


class ReactionBus(Protocol):
    """What the aggregator needs of the bus."""

    async def publish_reactions(self, partial: ReactionsCounted) -> None: ...

    async def has_message(self, room: str, message_id: int) -> bool: ...


class RoomSettingsLookup(Protocol):
    async def get(self, room: str) -> RoomSettings: ...


class ReactionRefused(Exception):
    """A reaction that is not counted: ``code`` is the error frame's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def protocol_error(self, client_id: str | None) -> ProtocolError:
        """The error frame for the sender."""
        return ProtocolError(self.code, self.message, client_id)


class ReactionTally:
    """Reaction counts per room, to the stream and to comments, until taken."""

    def __init__(self) -> None:
        self._stream: dict[str, Counter[str]] = {}
        self._comments: dict[str, dict[int, Counter[str]]] = {}
        self._votes: dict[str, dict[int, int]] = {}  # the newest count per question

    def __bool__(self) -> bool:
        return bool(self._stream) or bool(self._comments) or bool(self._votes)

    def set_votes(self, room: str, message_id: int, votes: int) -> None:
        """Note question ``message_id``'s vote count: counts only grow (a vote cannot be taken
        back), so the highest one heard, from any node, is the newest."""
        questions = self._votes.setdefault(room, {})
        questions[message_id] = max(votes, questions.get(message_id, 0))

    def add(self, room: str, reaction: str, target: int | None = None, n: int = 1) -> None:
        """Count ``n`` reactions ``reaction`` in ``room``, to the stream or to ``target``."""
        if target is None:
            self._stream.setdefault(room, Counter())[reaction] += n
        else:
            self._comments.setdefault(room, {}).setdefault(target, Counter())[reaction] += n

    def merge(self, partial: ReactionsCounted) -> None:
        """Add another tally's counts (a node's partial count)."""
        for reaction, n in partial.counts.items():
            self.add(partial.room, reaction, None, n)
        for target, counts in partial.comments.items():
            for reaction, n in counts.items():
                self.add(partial.room, reaction, target, n)
        for message_id, votes in partial.votes.items():
            self.set_votes(partial.room, message_id, votes)

    def take(self, room: str) -> ReactionsCounted | None:
        """The room's counts so far (None: none), and start again from zero."""
        stream = self._stream.pop(room, None)
        comments = self._comments.pop(room, None)
        votes = self._votes.pop(room, None)
        if not stream and not comments and not votes:
            return None
        return ReactionsCounted(room, dict(stream or {}),
                                {mid: dict(c) for mid, c in (comments or {}).items()},
                                dict(votes or {}))

    def take_all(self) -> list[ReactionsCounted]:
        """Every room's counts (one entry per room with any), and start again from zero."""
        rooms = dict.fromkeys([*self._stream, *self._comments, *self._votes])
        return [t for t in (self.take(room) for room in rooms) if t is not None]


class ReactionWindow:
    """One room's received partial counts, summed, and when the next frame may go out:
    at most one frame per ``interval_s``."""

    def __init__(self, room: str, interval_s: float) -> None:
        self.room = room
        self.interval_s = interval_s
        self._tally = ReactionTally()
        self._last_sent = float("-inf")

    def add(self, partial: ReactionsCounted) -> None:
        """Sum in a node's partial count."""
        self._tally.merge(partial)

    def due_in(self, now: float) -> float | None:
        """Seconds until the sum may be sent (0: now), or None when there is nothing to
        send."""
        if not self._tally:
            return None
        return max(0.0, self._last_sent + self.interval_s - now)

    def take(self, now: float) -> ReactionsCounted | None:
        """The sum to send now (None: nothing), starting the next interval."""
        counts = self._tally.take(self.room)
        if counts is not None:
            self._last_sent = now
        return counts


@dataclass
class ReactionStats:
    """This node's reactions, for ``/v1/stats``."""

    accepted: int = 0  # counted
    refused: int = 0  # unknown reaction or target: an error frame
    dropped: int = 0  # over the user's reaction budget
    published: int = 0  # partial counts put on the bus (one per room per interval)

    def to_json(self) -> dict[str, int]:
        return {"accepted": self.accepted, "refused": self.refused, "dropped": self.dropped,
                "published": self.published}


class ReactionAggregator:
    """This node's viewers' reactions: checked, counted, and published on the bus as one
    partial count per room per ``interval_s``.

    A room's reaction set is read from its settings at most once per ``settings_ttl_s``
    (likes come by thousands a second; a settings change shows within that)."""

    def __init__(self, bus: ReactionBus, room_settings: RoomSettingsLookup, interval_s: float,
                 *, settings_ttl_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.room_settings = room_settings
        self.interval_s = interval_s
        self.settings_ttl_s = settings_ttl_s
        self.clock = clock
        self.stats = ReactionStats()
        self._tally = ReactionTally()
        self._allowed: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def allowed(self, room: str) -> tuple[str, ...]:
        """The reactions ``room`` accepts (empty: reactions are off)."""
        now = self.clock()
        cached = self._allowed.get(room)
        if cached is not None and now - cached[0] < self.settings_ttl_s:
            return cached[1]
        reactions = (await self.room_settings.get(room)).reactions
        if len(self._allowed) > 10_000:  # rooms come and go; never grow without bound
            self._allowed.clear()
        self._allowed[room] = (now, reactions)
        return reactions

    async def react(self, room: str, reaction: str, target: int | None) -> None:
        """Count one reaction; raises ``ReactionRefused`` (nothing counted) for a reaction the
        room does not accept or a target not in its history."""
        allowed = await self.allowed(room)
        if reaction not in allowed:
            self.stats.refused += 1
            offered = ", ".join(allowed) if allowed else "none: reactions are off here"
            raise ReactionRefused(codes.UNKNOWN_REACTION, f"{reaction!r} is not a reaction of "
                                  f"this room (it accepts {offered})")
        if target is not None and not await self.bus.has_message(room, target):
            self.stats.refused += 1
            raise ReactionRefused(codes.NOT_FOUND, f"message {target} is not in this room's "
                                  "history (deleted, or too old)")
        self._tally.add(room, reaction, target)
        self.stats.accepted += 1

    def count_votes(self, room: str, message_id: int, votes: int) -> None:
        """Publish question ``message_id``'s new vote count with this interval's reactions."""
        self._tally.set_votes(room, message_id, votes)

    async def flush(self) -> int:
        """Publish every room's counts since the last flush, one partial count per room;
        returns how many were published."""
        partials = self._tally.take_all()
        for partial in partials:
            try:
                await self.bus.publish_reactions(partial)
            except Exception:  # one room's failure must not lose the others'
                log.exception("publishing the reactions of room %s failed", partial.room)
                continue
            self.stats.published += 1
        return len(partials)

    def start(self) -> None:
        """Flush once per interval in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reactions")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()

    async def close(self) -> None:
        """Stop flushing, after publishing what was counted."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
