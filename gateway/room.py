"""Rooms as one node sees them: its local viewers grouped by language, the dispatcher that
turns bus events into frames for each group, and rate-bounded presence updates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from gateway.bus import Bus, Subscription
from gateway.events import CommentPublished, MessageDeleted, PinChanged, TranslationPublished
from gateway.fanout import Connection, LanguageGroup, broadcast
from gateway.frames import (
    comment_frame,
    deleted_frame,
    pinned_frame,
    translation_frame,
)
from gateway.moderation import RoomCommentGate
from gateway.pipeline import CommentPipeline

log = logging.getLogger("babelcast.room")


class LocalRoom:
    """The viewers of one room connected to this node."""

    def __init__(self, name: str, bus: Bus, pipeline: CommentPipeline,
                 presence_interval_s: float, subscription: Subscription) -> None:
        self.name = name
        self.bus = bus
        self.pipeline = pipeline
        self.groups: dict[str, LanguageGroup] = {}
        self.comment_gate = RoomCommentGate()  # slow mode and rate cap, for this node
        self.presence_interval_s = presence_interval_s
        self._subscription = subscription
        self._dispatcher = asyncio.create_task(self._dispatch(), name=f"room-{name}")
        self._presence_handle: asyncio.TimerHandle | None = None
        self._presence_last = float("-inf")
        self._presence_task: asyncio.Task[None] | None = None

    def connections(self) -> Iterator[Connection]:
        for group in self.groups.values():
            yield from group.members.values()

    def __len__(self) -> int:
        return sum(len(g) for g in self.groups.values())

    async def join(self, conn: Connection) -> None:
        """Add a viewer to the group of its language."""
        self._group(conn.lang).members[conn.id] = conn
        await self.bus.add_viewer(self.name, conn.lang)
        self.presence_changed()

    async def leave(self, conn: Connection) -> None:
        """Remove a viewer."""
        group = self.groups.get(conn.lang)
        if group is None or group.members.pop(conn.id, None) is None:
            return
        if not group.members:
            del self.groups[conn.lang]
        await self.bus.remove_viewer(self.name, conn.lang)
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
        metrics = self.pipeline.metrics
        loop = asyncio.get_running_loop()
        async for event in self._subscription:
            started = loop.time()
            try:
                if isinstance(event, CommentPublished):
                    msg = event.message
                    for lang, group in list(self.groups.items()):
                        pending = self.pipeline.request(msg, lang)
                        group.broadcast(comment_frame(msg, lang, pending), msg.id)
                elif isinstance(event, TranslationPublished):
                    group = self.groups.get(event.translation.lang)
                    if group is not None:
                        group.broadcast(translation_frame(event.message_id, event.translation))
                elif isinstance(event, MessageDeleted):
                    broadcast(self.connections(), deleted_frame(event.message_id))
                elif isinstance(event, PinChanged):
                    msg = event.message
                    for lang, group in list(self.groups.items()):
                        pending = msg is not None and self.pipeline.request(msg, lang)
                        group.broadcast(pinned_frame(msg, lang, pending))
            except Exception:  # one bad event must not stop the room
                log.exception("dispatch failed in room %s", self.name)
            if metrics is not None:
                frames = (len(self.groups.get(event.translation.lang) or ())
                          if isinstance(event, TranslationPublished) else len(self))
                metrics.room_event(event, frames, loop.time() - started)

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
        viewers = await self.bus.viewers(self.name)
        frame = {"type": "presence", "room": self.name, "viewers": viewers,
                 "total": sum(viewers.values())}
        broadcast(self.connections(), frame)

    async def close(self) -> None:
        """Stop dispatching (the room has no local viewers left, or shutdown)."""
        if self._presence_handle is not None:
            self._presence_handle.cancel()
        self._subscription.close()
        self._dispatcher.cancel()
        tasks = [self._dispatcher] + ([self._presence_task] if self._presence_task else [])
        await asyncio.gather(*tasks, return_exceptions=True)


class RoomRegistry:
    """The rooms with viewers on this node."""

    def __init__(self, bus: Bus, pipeline: CommentPipeline, presence_interval_s: float) -> None:
        self.bus = bus
        self.pipeline = pipeline
        self.presence_interval_s = presence_interval_s
        self.rooms: dict[str, LocalRoom] = {}
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
            room = self.rooms[name] = LocalRoom(name, self.bus, self.pipeline,
                                                self.presence_interval_s, subscription)
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

    def connections(self) -> Iterator[Connection]:
        for room in list(self.rooms.values()):
            yield from room.connections()

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()
