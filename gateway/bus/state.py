"""The ``RoomState`` seam: what hosts set on a room and viewers are held to — the pinned
message and the muted users — and the votes of its questions.

A pin points into the bus' history (it lapses when its message leaves history, and deleting
a pinned message unpins it) and its changes travel as bus events, so each room-state backend
works with the bus backend of its kind."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum

from babelcast.gateway.events import ChatMessage


class VoteOutcome(Enum):
    COUNTED = "counted"
    ALREADY_VOTED = "already_voted"
    NOT_FOUND = "not_found"  # not in history (never was, deleted, or too old)
    NOT_A_QUESTION = "not_a_question"


@dataclass(frozen=True)
class Vote:
    """What became of a vote, and the question's count after it (0 unless it is a
    question)."""

    outcome: VoteOutcome
    votes: int = 0


class RoomState(ABC):
    """Pins, mutes and question votes, per room."""

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
    async def add_vote(self, room: str, message_id: int, voter: str) -> Vote:
        """Count ``voter``'s vote for question ``message_id``: once per voter, only for a
        message of history flagged ``question``."""

    @abstractmethod
    async def votes(self, room: str, message_ids: list[int]) -> dict[int, int]:
        """The vote counts of ``message_ids`` (those with none: 0)."""
