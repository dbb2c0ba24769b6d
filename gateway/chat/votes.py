"""Question votes: once per user, on questions still in history, counted across nodes.

The votes themselves live in the room state (``RoomState.add_vote``: a set of voters per
question, in memory or in Redis); the new count travels with the reactions (``VoteSink``, the
``ReactionAggregator``), so a room's viewers get at most one ``votes`` frame per question per
reaction interval however fast the votes come."""

from __future__ import annotations

from typing import Protocol

from babelcast.gateway.bus.state import Vote, VoteOutcome
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.errors import ProtocolError


class VoteStore(Protocol):
    """What voting needs of the room state."""

    async def add_vote(self, room: str, message_id: int, voter: str) -> Vote: ...


class VoteSink(Protocol):
    """Where a question's new count goes (to every node's viewers, paced)."""

    def count_votes(self, room: str, message_id: int, votes: int) -> None: ...


_REFUSALS = {
    VoteOutcome.ALREADY_VOTED: (codes.ALREADY_VOTED, "you have voted for message {id} already"),
    VoteOutcome.NOT_A_QUESTION: (codes.NOT_A_QUESTION, "message {id} is not a question; only "
                                 "questions take votes"),
    VoteOutcome.NOT_FOUND: (codes.NOT_FOUND, "message {id} is not in this room's history "
                            "(deleted, or too old)"),
}


class QuestionVotes:
    """Checks and counts votes; the count goes out through ``sink``."""

    def __init__(self, store: VoteStore, sink: VoteSink) -> None:
        self.store = store
        self.sink = sink

    async def vote(self, room: str, message_id: int, voter: str,
                   client_id: str | None = None) -> int:
        """Count ``voter``'s vote for question ``message_id`` and return its new count; raises
        ``ProtocolError`` (``already_voted``, ``not_a_question``, ``not_found``) otherwise."""
        result = await self.store.add_vote(room, message_id, voter)
        if result.outcome is not VoteOutcome.COUNTED:
            code, message = _REFUSALS[result.outcome]
            raise ProtocolError(code, message.format(id=message_id), client_id)
        self.sink.count_votes(room, message_id, result.votes)
        return result.votes
