"""Rooms as one node sees them: its local viewers grouped by language, the dispatcher that
turns bus events into frames for each group, and rate-bounded presence updates.

A comment is published before it is translated. The dispatcher sends it at once to the groups
that can read it (its own language, or no translation possible) and holds it back from each
group waiting for a translation until that translation's event arrives, then sends it once,
translated; after ``hold_s`` (``translation_wait_ms``) it sends the original marked ``pending``
instead, and the translation follows as its own frame. A group therefore sees comments in the
order they become readable, which can differ from id order by up to ``hold_s``; the widget
orders by id, and a resume repeats the comments that could still have been held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from babelcast.gateway.bus.base import Bus, Subscription
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.chat.moderation import RoomCommentGate
from babelcast.gateway.chat.reactions import ReactionWindow
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.events import (
    ChatMessage,
    CommentPublished,
    EpochChanged,
    MessageDeleted,
    PinChanged,
    ReactionsCounted,
    TranslationPublished,
)
from babelcast.gateway.rooms.batch import WriteBatch
from babelcast.gateway.rooms.connection import Connection
from babelcast.gateway.rooms.groups import LanguageGroup, broadcast
from babelcast.gateway.rooms.stats import ClosedConnections, FanoutObserver, FanoutTotals
from babelcast.gateway.wire.codes import CLOSE_SERVICE_RESTART
from babelcast.gateway.wire.server import (
    comment_frame,
    deleted_frame,
    pinned_frame,
    presence_frame,
    reactions_frame,
    translation_frame,
    votes_frame,
)
from babelcast.translation import Translation

log = logging.getLogger("babelcast.room")


@dataclass(frozen=True)
class RoomDeps:
    """What every room of a node uses."""

    bus: Bus
    presence: Presence  # viewers per language, for presence frames and the pipeline
    translations: TranslationTracker  # asked for each translation a group needs
    hold_s: float  # the longest a comment is held back for a group's translation
    presence_interval_s: float
    write_batch: WriteBatch | None = None  # None: each direct frame is written at once
    observer: FanoutObserver | None = None  # None: nobody measures the fan-out
    reaction_interval_s: float = 0.5  # at most one reactions frame per room per interval


class LocalRoom:
    """The viewers of one room connected to this node."""

    def __init__(self, name: str, deps: RoomDeps, subscription: Subscription) -> None:
        self.name = name
        self.write_batch = deps.write_batch
        self.bus = deps.bus
        self.presence = deps.presence
        self.translations = deps.translations
        self.observer = deps.observer
        self.hold_s = deps.hold_s  # the longest a comment is held back for a translation
        self.groups: dict[str, LanguageGroup] = {}
        self.comment_gate = RoomCommentGate()  # slow mode and rate cap, for this node
        self.presence_interval_s = deps.presence_interval_s
        self._subscription = subscription
        self._dispatcher = asyncio.create_task(self._dispatch(), name=f"room-{name}")
        self._presence_handle: asyncio.TimerHandle | None = None
        self._presence_last = float("-inf")
        self._presence_task: asyncio.Task[None] | None = None
        # (message id, language) -> the comment held back from that group, and its deadline.
        self._held: dict[tuple[int, str], tuple[ChatMessage, asyncio.TimerHandle]] = {}
        # Every node's partial reaction counts, summed; one frame per interval at most.
        self._reactions = ReactionWindow(name, deps.reaction_interval_s)
        self._reactions_handle: asyncio.TimerHandle | None = None

    @property
    def held_back(self) -> int:
        """(comment, language group) pairs waiting for a translation right now."""
        return len(self._held)

    def connections(self) -> Iterator[Connection]:
        for group in self.groups.values():
            yield from group.members.values()

    def __len__(self) -> int:
        return sum(len(g) for g in self.groups.values())

    async def join(self, conn: Connection) -> None:
        """Add a viewer to the group of its language."""
        self._group(conn.lang).members[conn.id] = conn
        await self.presence.add_viewer(self.name, conn.lang)
        self.presence_changed()

    async def leave(self, conn: Connection) -> None:
        """Remove a viewer."""
        group = self.groups.get(conn.lang)
        if group is None or group.members.pop(conn.id, None) is None:
            return
        if not group.members:
            del self.groups[conn.lang]
        await self.presence.remove_viewer(self.name, conn.lang)
        self.presence_changed()

    async def move(self, conn: Connection, lang: str) -> None:
        """Switch a viewer to another language group."""
        await self.leave(conn)
        conn.info.lang = lang
        await self.join(conn)

    def _group(self, lang: str) -> LanguageGroup:
        group = self.groups.get(lang)
        if group is None:
            group = self.groups[lang] = LanguageGroup(lang)
        return group

    async def _dispatch(self) -> None:
        observer = self.observer
        loop = asyncio.get_running_loop()
        batch = self.write_batch
        async for event in self._subscription:
            started = loop.time()
            frames = 0
            if batch is not None:
                # More events right behind this one: their frames go out with its frames,
                # one write per viewer (see WriteBatch).
                batch.joining = self._subscription.backlog > 0
            try:
                frames = self._handle(event)
            except Exception:  # one bad event must not stop the room
                log.exception("dispatch failed in room %s", self.name)
            finally:
                if batch is not None:
                    batch.joining = False
            if observer is not None:
                observer.room_event(event, frames, loop.time() - started)

    def _handle(self, event: object) -> int:
        """Send ``event`` to the groups it concerns; returns the frames queued."""
        if isinstance(event, CommentPublished):
            msg = event.message
            frames = 0
            for lang, group in list(self.groups.items()):
                pending = self.translations.request(msg, lang)
                if pending and self._hold(msg, lang):
                    continue
                # Just published: no vote yet.
                group.broadcast(comment_frame(msg, lang, pending, votes=0), msg.id)
                frames += len(group)
            return frames
        if isinstance(event, TranslationPublished):
            lang = event.translation.lang
            held = self._held.get((event.message_id, lang))
            if held is not None and held[0].epoch != event.epoch:
                return 0  # made for a message of another epoch: not this one's
            if held is not None:
                del self._held[(event.message_id, lang)]
                held[1].cancel()
                self._count_release(held[0], self._release(held[0], lang, event.translation))
                return 0  # counted as a release, with its delivery time
            group = self.groups.get(lang)
            if group is None:
                return 0
            group.broadcast(translation_frame(event.message_id, event.translation))
            return len(group)
        if isinstance(event, MessageDeleted):
            for key in [k for k in self._held if k[0] == event.message_id]:
                self._held.pop(key)[1].cancel()  # never shown to that group: nothing to undo
            broadcast(self.connections(), deleted_frame(event.message_id))
            return len(self)
        if isinstance(event, EpochChanged):
            # The ids these viewers hold name nothing any more: each reconnects, resumes with
            # its old epoch and gets the room afresh (gap: true).
            for _msg, handle in self._held.values():
                handle.cancel()
            self._held.clear()
            # (Not yet welcomed: its welcome will carry the new epoch.)
            conns = [c for c in self.connections() if c.epoch not in ("", event.epoch)]
            for conn in conns:
                conn.close(CLOSE_SERVICE_RESTART, "chat history restarted; reconnect")
            return len(conns)
        if isinstance(event, ReactionsCounted):
            self._reactions.add(event)
            self._schedule_reactions()
            return 0  # counted when the summed frame goes out
        if isinstance(event, PinChanged):
            msg = event.message
            for lang, group in list(self.groups.items()):
                pending = msg is not None and self.translations.request(msg, lang)
                group.broadcast(pinned_frame(msg, lang, pending))
            return len(self)
        return 0

    def _hold(self, msg: ChatMessage, lang: str) -> bool:
        """Hold ``msg`` back from the ``lang`` group until its translation arrives or the
        hold window (counted from publication) ends. False when there is no time left, or
        the message is provisional (its translation events carry no such id)."""
        remaining = min(self.hold_s, msg.ts + self.hold_s - time.time())
        if msg.id <= 0 or remaining <= 0:
            return False
        handle = asyncio.get_running_loop().call_later(remaining, self._hold_expired,
                                                       msg.id, lang)
        self._held[(msg.id, lang)] = (msg, handle)
        return True

    def _hold_expired(self, message_id: int, lang: str) -> None:
        held = self._held.pop((message_id, lang), None)
        if held is None:
            return
        try:
            frames = self._release(held[0], lang, None)
        except Exception:
            log.exception("releasing a held comment failed in room %s", self.name)
            return
        self._count_release(held[0], frames)

    def _count_release(self, msg: ChatMessage, frames: int) -> None:
        if self.observer is not None:
            self.observer.held_released(frames, msg.ts)

    def _release(self, msg: ChatMessage, lang: str, translation: Translation | None) -> int:
        """Send a held comment to its group: translated, or (no translation in time) the
        original marked pending. Members who joined meanwhile got it in their history, as
        pending: they get the translation frame instead."""
        group = self.groups.get(lang)
        if group is None:
            return 0
        pending = translation is None and self.translations.request(msg, lang)
        group.broadcast(comment_frame(msg, lang, pending, translation), msg.id)
        if translation is not None:
            seen = [c for c in group.members.values() if msg.id <= c.skip_through]
            if seen:
                broadcast(seen, translation_frame(msg.id, translation))
        return len(group)

    def _schedule_reactions(self) -> None:
        if self._reactions_handle is not None:
            return
        loop = asyncio.get_running_loop()
        delay = self._reactions.due_in(loop.time())
        if delay is not None:
            self._reactions_handle = loop.call_later(delay, self._reactions_due)

    def _reactions_due(self) -> None:
        self._reactions_handle = None
        counts = self._reactions.take(asyncio.get_running_loop().time())
        if counts is None:
            return
        # No language: one encoding per codec for every viewer of the room on this node.
        viewers = self.connections()
        if counts.counts or counts.comments:
            broadcast(viewers, reactions_frame(
                self.name, counts.counts, counts.comments,
                round(self._reactions.interval_s * 1000)))
        for message_id, votes in counts.votes.items():
            broadcast(viewers, votes_frame(message_id, votes))

    def presence_changed(self) -> None:
        """Schedule a presence frame: at once if none went out recently, else at the end of
        the interval, so a burst of joins costs one frame."""
        if self._presence_handle is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._presence_last + self.presence_interval_s - loop.time())
        self._presence_handle = loop.call_later(delay, self._presence_due)

    def _presence_due(self) -> None:
        self._presence_handle = None
        self._presence_last = asyncio.get_running_loop().time()
        self._presence_task = asyncio.create_task(self._send_presence())

    async def _send_presence(self) -> None:
        viewers = await self.presence.viewers(self.name)
        broadcast(self.connections(), presence_frame(self.name, viewers))

    async def close(self) -> None:
        """Stop dispatching (the room has no local viewers left, or shutdown)."""
        if self._presence_handle is not None:
            self._presence_handle.cancel()
        if self._reactions_handle is not None:
            self._reactions_handle.cancel()
        for _msg, handle in self._held.values():
            handle.cancel()
        self._held.clear()
        self._subscription.close()
        self._dispatcher.cancel()
        tasks = [self._dispatcher] + ([self._presence_task] if self._presence_task else [])
        await asyncio.gather(*tasks, return_exceptions=True)


class RoomRegistry:
    """The rooms with viewers on this node."""

    def __init__(self, deps: RoomDeps) -> None:
        self.deps = deps
        self.bus = deps.bus
        self.presence = deps.presence
        self.rooms: dict[str, LocalRoom] = {}
        self.closed = ClosedConnections()  # frame counters of connections that have closed
        self._opening: dict[str, asyncio.Future[LocalRoom]] = {}

    async def get_or_create(self, name: str) -> LocalRoom:
        """The room's local state, subscribing to its events on first use. Callers must add
        their viewer before the next await, or the room may be released under them."""
        while True:
            room = self.rooms.get(name)
            if room is not None:
                return room
            opening = self._opening.get(name)
            if opening is None:
                return await self._open(name)
            # Another viewer is subscribing right now: wait for it, then look again (the
            # room may have been released meanwhile).
            await asyncio.wait([opening])

    async def _open(self, name: str) -> LocalRoom:
        future: asyncio.Future[LocalRoom] = asyncio.get_running_loop().create_future()
        self._opening[name] = future
        try:
            subscription = await self.bus.subscribe(name)
            room = self.rooms[name] = LocalRoom(name, self.deps, subscription)
            future.set_result(room)
            return room
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._opening[name]

    async def release(self, room: LocalRoom) -> None:
        """Drop the room once its last local viewer has left."""
        if len(room) == 0 and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            await room.close()

    def comment_gate(self, name: str) -> RoomCommentGate | None:
        """The slow mode and rate cap of room ``name`` on this node (None: no viewers here,
        so nothing to count against)."""
        room = self.rooms.get(name)
        return None if room is None else room.comment_gate

    def connections(self) -> Iterator[Connection]:
        for room in list(self.rooms.values()):
            yield from room.connections()

    def retire(self, conn: Connection) -> None:
        """Keep the frame counters of a connection that has finished (left its room)."""
        closed = self.closed
        closed.frames_dropped += conn.queue.dropped
        closed.frames_direct += conn.direct_writes

    def totals(self) -> FanoutTotals:
        """Connection and frame counters: closed connections' plus the open ones'."""
        conns = list(self.connections())
        closed, batch = self.closed, self.deps.write_batch
        return FanoutTotals(
            rooms=len(self.rooms), connections=len(conns),
            queued_frames=sum(len(c.queue) for c in conns),
            frames_dropped=closed.frames_dropped + sum(c.queue.dropped for c in conns),
            frames_direct=closed.frames_direct + sum(c.direct_writes for c in conns),
            frames_joined=batch.joined if batch is not None else 0)

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()
