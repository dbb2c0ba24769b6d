"""The ``RoomState`` seam: what hosts set on a room and viewers are held to — the pinned
message and the muted users.

A pin points into the bus' history (it lapses when its message leaves history, and deleting
a pinned message unpins it) and its changes travel as bus events, so each room-state backend
works with the bus backend of its kind."""

from __future__ import annotations

from abc import ABC, abstractmethod

from babelcast.gateway.events import ChatMessage


class RoomState(ABC):
    """Pins and mutes, per room."""

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
