"""Question votes: the rules (a fake store and sink), the tally that carries the counts to the
other nodes, and the wire frames."""

from __future__ import annotations

import asyncio

import pytest

from babelcast.gateway.bus.state import Vote, VoteOutcome
from babelcast.gateway.chat.reactions import ReactionTally, ReactionWindow
from babelcast.gateway.chat.votes import QuestionVotes
from babelcast.gateway.events import ChatMessage, ReactionsCounted
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.client import InputLimits, VoteIn, parse_client_frame
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.gateway.wire.server import comment_frame, votes_frame


class FakeStore:
    """Questions 1 and 2, remark 3; voters per question."""

    def __init__(self) -> None:
        self.voters: dict[int, set[str]] = {1: set(), 2: set()}

    async def add_vote(self, room: str, message_id: int, voter: str) -> Vote:
        if message_id == 3:
            return Vote(VoteOutcome.NOT_A_QUESTION)
        voters = self.voters.get(message_id)
        if voters is None:
            return Vote(VoteOutcome.NOT_FOUND)
        if voter in voters:
            return Vote(VoteOutcome.ALREADY_VOTED, len(voters))
        voters.add(voter)
        return Vote(VoteOutcome.COUNTED, len(voters))


class Sink:
    def __init__(self) -> None:
        self.counts: list[tuple[str, int, int]] = []

    def count_votes(self, room: str, message_id: int, votes: int) -> None:
        self.counts.append((room, message_id, votes))


def test_a_user_votes_a_question_once_and_the_new_count_goes_out() -> None:
    sink = Sink()
    votes = QuestionVotes(FakeStore(), sink)

    async def run() -> None:
        assert await votes.vote("r", 1, "en") == 1
        assert await votes.vote("r", 1, "ko") == 2
        with pytest.raises(ProtocolError) as again:
            await votes.vote("r", 1, "en", "c9")
        assert again.value.code == codes.ALREADY_VOTED and again.value.client_id == "c9"

    asyncio.run(run())
    assert sink.counts == [("r", 1, 1), ("r", 1, 2)]  # the refused vote sent nothing


@pytest.mark.parametrize(("message_id", "code"), [(3, codes.NOT_A_QUESTION),
                                                  (99, codes.NOT_FOUND)])
def test_votes_go_to_questions_in_history_only(message_id: int, code: str) -> None:
    sink = Sink()
    with pytest.raises(ProtocolError) as refused:
        asyncio.run(QuestionVotes(FakeStore(), sink).vote("r", message_id, "en"))
    assert refused.value.code == code and str(message_id) in refused.value.message
    assert sink.counts == []


def test_the_tally_keeps_the_highest_count_per_question_from_any_node() -> None:
    window = ReactionWindow("r", 0.5)
    window.add(ReactionsCounted("r", {}, {}, {1: 3, 2: 1}))
    window.add(ReactionsCounted("r", {}, {}, {1: 2}))  # an older count from a slower node
    window.add(ReactionsCounted("r", {"heart": 1}, {}, {1: 4}))
    assert window.due_in(0.0) == 0.0
    taken = window.take(0.0)
    assert taken == ReactionsCounted("r", {"heart": 1}, {}, {1: 4, 2: 1})
    assert window.take(0.1) is None  # nothing new: no frame
    tally = ReactionTally()
    tally.set_votes("a", 7, 2)
    assert tally and tally.take_all() == [ReactionsCounted("a", {}, {}, {7: 2})]
    assert not tally


def test_vote_frames_parse_and_questions_carry_their_votes() -> None:
    codec, limits = Codec.JSON, InputLimits()
    assert parse_client_frame('{"type":"vote","id":"17","client_id":"v"}', codec,
                              limits) == VoteIn(17, "v")
    for bad in ('{"type":"vote"}', '{"type":"vote","id":17}', '{"type":"vote","id":"x"}'):
        with pytest.raises(ProtocolError) as err:
            parse_client_frame(bad, codec, limits)
        assert err.value.code == codes.INVALID_FIELD
    assert votes_frame(17, 5) == {"type": "votes", "id": "17", "votes": 5}
    question = ChatMessage(17, "r", "Ana", "u", "tem frete?", "pt", 0.0, question=True)
    remark = ChatMessage(18, "r", "Ana", "u", "oi", "pt", 0.0)
    assert comment_frame(question, "pt", votes=3)["votes"] == 3
    assert "votes" not in comment_frame(remark, "pt")
