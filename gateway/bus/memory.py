"""The embedded single-process backend: ``MemoryBus`` (history and events),
``MemoryPresence`` and ``MemoryRoomState``, all in this process's memory."""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque

from babelcast.gateway.bus.backend import RoomBackend
from babelcast.gateway.bus.base import (
    Bus,
    CommentDraft,
    RoomStats,
    Subscription,
    UnknownMessage,
    message_from_draft,
    resume_after,
)
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.bus.state import RoomState, Vote, VoteOutcome
from babelcast.gateway.events import (
    ChatMessage,
    CommentPublished,
    MessageDeleted,
    PinChanged,
    ReactionsCounted,
    RoomEvent,
    TranslationPublished,
)
from babelcast.translation import Translation


class _RoomLog:
    def __init__(self, size: int) -> None:
        self.messages: deque[ChatMessage] = deque(maxlen=size)
        self.by_id: dict[int, ChatMessage] = {}
        self.last_id = 0
        self.trimmed_through = 0  # the newest id that left history because it was full
        self.pinned: int | None = None  # kept with history: deleting a message unpins it
        self.subscribers: list[Subscription] = []


class MemoryBus(Bus):
    """Everything in this process. History keeps the last ``history_size`` messages a room."""

    def __init__(self, history_size: int = 500) -> None:
        self.history_size = history_size
        self.epoch = secrets.token_hex(4)
        self._rooms: dict[str, _RoomLog] = {}

    def _room(self, room: str) -> _RoomLog:
        log = self._rooms.get(room)
        if log is None:
            log = self._rooms[room] = _RoomLog(self.history_size)
        return log

    def _deliver(self, log: _RoomLog, event: RoomEvent) -> None:
        for sub in log.subscribers:
            sub.queue.put_nowait(event)

    async def publish_comment(self, draft: CommentDraft) -> ChatMessage:
        log = self._room(draft.room)
        log.last_id += 1
        msg = message_from_draft(draft, log.last_id, time.time(), self.epoch)
        if len(log.messages) == log.messages.maxlen:
            log.trimmed_through = log.messages[0].id
            log.by_id.pop(log.messages[0].id, None)
        log.messages.append(msg)
        log.by_id[msg.id] = msg
        self._deliver(log, CommentPublished(msg))
        return msg

    async def publish_translation(self, room: str, message_id: int, translation: Translation,
                                  *, epoch: str) -> bool:
        log = self._rooms.get(room)
        msg = log.by_id.get(message_id) if log and epoch == self.epoch else None
        if msg is None:
            return False
        known = msg.translations.get(translation.lang)
        if known is not None and (known.translated or not translation.translated):
            return False
        msg.translations[translation.lang] = translation
        self._deliver(log, TranslationPublished(room, message_id, translation, epoch))  # type: ignore[arg-type]
        return True

    async def translation(self, room: str, message_id: int, lang: str,
                          *, epoch: str) -> Translation | None:
        log = self._rooms.get(room)
        msg = log.by_id.get(message_id) if log and epoch == self.epoch else None
        return msg.translations.get(lang) if msg else None

    async def delete_message(self, room: str, message_id: int,
                             *, epoch: str | None = None) -> bool:
        log = self._rooms.get(room)
        if epoch not in (None, self.epoch):
            return False
        msg = log.by_id.pop(message_id, None) if log else None
        if msg is None:
            return False
        assert log is not None
        log.messages.remove(msg)
        self._deliver(log, MessageDeleted(room, message_id))
        if log.pinned == message_id:
            log.pinned = None
            self._deliver(log, PinChanged(room, None))
        return True

    def pin(self, room: str, message_id: int | None) -> ChatMessage | None:
        """``MemoryRoomState.set_pinned``: the pin lives with the history it points into."""
        log = self._room(room)
        msg = None
        if message_id is not None:
            msg = log.by_id.get(message_id)
            if msg is None:
                raise UnknownMessage(message_id)
        log.pinned = message_id
        self._deliver(log, PinChanged(room, msg))
        return msg

    def message(self, room: str, message_id: int) -> ChatMessage | None:
        """One message of history, or None if it is not there."""
        log = self._rooms.get(room)
        return log.by_id.get(message_id) if log else None

    def pinned_message(self, room: str) -> ChatMessage | None:
        """``MemoryRoomState.pinned``."""
        log = self._rooms.get(room)
        if log is None or log.pinned is None:
            return None
        return log.by_id.get(log.pinned)

    async def subscribe(self, room: str) -> Subscription:
        sub = Subscription(room, self._unsubscribe)
        self._room(room).subscribers.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        log = self._rooms.get(sub.room)
        if log and sub in log.subscribers:
            log.subscribers.remove(sub)

    async def history(self, room: str, since: int | None = None,
                      limit: int | None = None) -> tuple[list[ChatMessage], bool]:
        log = self._rooms.get(room)
        if log is None:
            return [], False
        resume = None if since is None else resume_after(since, log.last_id,
                                                         log.trimmed_through)
        if resume is None or resume.after is None:
            msgs = list(log.messages)
            return (msgs[-limit:] if limit else msgs), resume is not None and resume.gap
        msgs = [m for m in log.messages if m.id > resume.after]
        return (msgs[:limit] if limit else msgs), resume.gap

    async def stats(self, room: str) -> RoomStats | None:
        log = self._rooms.get(room)
        if log is None:
            return None
        translations = sum(
            sum(1 for t in m.translations.values() if t.translated) for m in log.messages
        )
        return RoomStats(messages=len(log.messages), translations=translations,
                         last_id=log.last_id)

    async def publish_reactions(self, partial: ReactionsCounted) -> None:
        log = self._rooms.get(partial.room)
        if log is not None:
            self._deliver(log, partial)

    async def has_message(self, room: str, message_id: int) -> bool:
        log = self._rooms.get(room)
        return log is not None and message_id in log.by_id


class MemoryPresence(Presence):
    """This process's viewers."""

    def __init__(self) -> None:
        self._rooms: dict[str, Counter[str]] = {}

    async def add_viewer(self, room: str, lang: str) -> None:
        self._rooms.setdefault(room, Counter())[lang] += 1

    async def remove_viewer(self, room: str, lang: str) -> None:
        counts = self._rooms.get(room)
        if counts is None:
            return
        counts[lang] -= 1
        if counts[lang] <= 0:
            del counts[lang]
        if not counts:
            del self._rooms[room]

    async def viewers(self, room: str) -> dict[str, int]:
        return dict(self._rooms.get(room) or {})


class MemoryRoomState(RoomState):
    """Mutes and votes in this process; pins through the ``MemoryBus`` whose history they
    point into."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._muted: dict[str, set[str]] = {}
        self._votes: dict[str, dict[int, set[str]]] = {}  # room -> question -> voters

    async def set_pinned(self, room: str, message_id: int | None) -> ChatMessage | None:
        return self._bus.pin(room, message_id)

    async def pinned(self, room: str) -> ChatMessage | None:
        return self._bus.pinned_message(room)

    async def mute(self, room: str, user_id: str) -> None:
        self._muted.setdefault(room, set()).add(user_id)

    async def unmute(self, room: str, user_id: str) -> None:
        muted = self._muted.get(room)
        if muted is not None:
            muted.discard(user_id)

    async def is_muted(self, room: str, user_id: str) -> bool:
        return user_id in self._muted.get(room, ())

    async def add_vote(self, room: str, message_id: int, voter: str) -> Vote:
        msg = self._bus.message(room, message_id)
        if msg is None:
            return Vote(VoteOutcome.NOT_FOUND)
        if not msg.question:
            return Vote(VoteOutcome.NOT_A_QUESTION)
        questions = self._votes.setdefault(room, {})
        if len(questions) > self._bus.history_size:
            # Questions that left history take their votes with them (memory stays bounded).
            for gone in [mid for mid in questions if self._bus.message(room, mid) is None]:
                del questions[gone]
        voters = questions.setdefault(message_id, set())
        if voter in voters:
            return Vote(VoteOutcome.ALREADY_VOTED, len(voters))
        voters.add(voter)
        return Vote(VoteOutcome.COUNTED, len(voters))

    async def votes(self, room: str, message_ids: list[int]) -> dict[int, int]:
        questions = self._votes.get(room, {})
        return {mid: len(questions.get(mid, ())) for mid in message_ids}


def memory_backend(history_size: int = 500) -> RoomBackend:
    """The embedded backend: one process, nothing shared."""
    bus = MemoryBus(history_size)
    return RoomBackend(bus=bus, presence=MemoryPresence(), state=MemoryRoomState(bus))
