"""``MemoryBus``: the embedded single-process bus (history, pins, mutes and presence in this
process's memory)."""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque

from babelcast.gateway.bus.base import (
    Bus,
    CommentDraft,
    RoomStats,
    Subscription,
    UnknownMessage,
)
from babelcast.gateway.events import (
    ChatMessage,
    CommentPublished,
    MessageDeleted,
    PinChanged,
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
        self.pinned: int | None = None
        self.muted: set[str] = set()
        self.viewers: Counter[str] = Counter()
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
        msg = ChatMessage(id=log.last_id, room=draft.room, user=draft.user,
                          user_id=draft.user_id, text=draft.text, src_lang=draft.src_lang,
                          ts=time.time(), translations=dict(draft.translations),
                          glossary_hits=draft.glossary_hits, question=draft.question,
                          owed=draft.owed)
        if len(log.messages) == log.messages.maxlen:
            log.trimmed_through = log.messages[0].id
            log.by_id.pop(log.messages[0].id, None)
        log.messages.append(msg)
        log.by_id[msg.id] = msg
        self._deliver(log, CommentPublished(msg))
        return msg

    async def publish_translation(self, room: str, message_id: int,
                                  translation: Translation) -> bool:
        log = self._rooms.get(room)
        msg = log.by_id.get(message_id) if log else None
        if msg is None:
            return False
        known = msg.translations.get(translation.lang)
        if known is not None and (known.translated or not translation.translated):
            return False
        msg.translations[translation.lang] = translation
        self._deliver(log, TranslationPublished(room, message_id, translation))  # type: ignore[arg-type]
        return True

    async def translation(self, room: str, message_id: int, lang: str) -> Translation | None:
        log = self._rooms.get(room)
        msg = log.by_id.get(message_id) if log else None
        return msg.translations.get(lang) if msg else None

    async def delete_message(self, room: str, message_id: int) -> bool:
        log = self._rooms.get(room)
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

    async def set_pinned(self, room: str, message_id: int | None) -> ChatMessage | None:
        log = self._room(room)
        msg = None
        if message_id is not None:
            msg = log.by_id.get(message_id)
            if msg is None:
                raise UnknownMessage(message_id)
        log.pinned = message_id
        self._deliver(log, PinChanged(room, msg))
        return msg

    async def pinned(self, room: str) -> ChatMessage | None:
        log = self._rooms.get(room)
        if log is None or log.pinned is None:
            return None
        return log.by_id.get(log.pinned)

    async def mute(self, room: str, user_id: str) -> None:
        self._room(room).muted.add(user_id)

    async def unmute(self, room: str, user_id: str) -> None:
        log = self._rooms.get(room)
        if log is not None:
            log.muted.discard(user_id)

    async def is_muted(self, room: str, user_id: str) -> bool:
        log = self._rooms.get(room)
        return log is not None and user_id in log.muted

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
        if since is None:
            msgs = list(log.messages)
            return (msgs[-limit:] if limit else msgs), False
        if since > log.last_id:
            # A client ahead of the room (ids restarted with this process): send everything.
            msgs = list(log.messages)
            return (msgs[-limit:] if limit else msgs), True
        # Deleted messages are not a gap; only those trimmed from a full history are.
        gap = since < log.trimmed_through
        msgs = [m for m in log.messages if m.id > since]
        return (msgs[:limit] if limit else msgs), gap

    async def add_viewer(self, room: str, lang: str) -> None:
        self._room(room).viewers[lang] += 1

    async def remove_viewer(self, room: str, lang: str) -> None:
        log = self._rooms.get(room)
        if log is None:
            return
        log.viewers[lang] -= 1
        if log.viewers[lang] <= 0:
            del log.viewers[lang]

    async def viewers(self, room: str) -> dict[str, int]:
        log = self._rooms.get(room)
        return dict(log.viewers) if log else {}

    async def stats(self, room: str) -> RoomStats | None:
        log = self._rooms.get(room)
        if log is None:
            return None
        translations = sum(
            sum(1 for t in m.translations.values() if t.translated) for m in log.messages
        )
        return RoomStats(viewers=dict(log.viewers), messages=len(log.messages),
                         translations=translations, last_id=log.last_id)
