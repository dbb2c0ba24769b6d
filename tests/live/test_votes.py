"""Question votes on one node, through real WebSockets: a Portuguese question voted by an
English and a Korean viewer shows the same count to everyone, once per user, questions only."""

from __future__ import annotations

from tests.harness import Frame, LiveServer, Viewer


def votes_of(v: Viewer, message_id: str, votes: int) -> Frame:
    """The ``votes`` frame that brings question ``message_id`` to ``votes``."""
    return v.expect(lambda f: f["type"] == "votes" and f["id"] == message_id
                    and f["votes"] == votes)


def test_votes_from_every_language_add_up_once_per_user(server: LiveServer, room: str) -> None:
    pt = server.viewer(room, "pt", "Ana")
    en = server.viewer(room, "en", "Bob")
    ko = server.viewer(room, "ko", "Min")
    pt.comment("tem frete grátis para o Brasil?")
    pt.comment("adorei o batom")
    question = en.expect_comment("tem frete grátis para o Brasil?")
    remark = en.expect_comment("adorei o batom")
    assert question["question"] is True and question["votes"] == 0
    assert remark["question"] is False and "votes" not in remark
    qid = question["id"]
    ko.expect_comment(qid)

    en.send({"type": "vote", "id": qid, "client_id": "v1"})
    ko.send({"type": "vote", "id": qid})
    for viewer in (pt, en, ko):
        assert votes_of(viewer, qid, 2)["votes"] == 2

    # The same user again (another connection, same address and name): refused.
    bob_again = server.viewer(room, "en", "Bob")
    bob_again.send({"type": "vote", "id": qid, "client_id": "v2"})
    err = bob_again.expect_error()
    assert err["code"] == "already_voted" and err["client_id"] == "v2"
    en.send({"type": "vote", "id": remark["id"], "client_id": "v3"})
    err = en.expect_error()
    assert err["code"] == "not_a_question" and err["client_id"] == "v3"
    en.send({"type": "vote", "id": "999999", "client_id": "v4"})
    assert en.expect_error()["code"] == "not_found"

    # History carries the count: a late viewer sees 2 votes on the question.
    late = server.viewer(room, "ko", "Late")
    [shown] = [f for f in late.welcome["history"] if f["id"] == qid]
    assert shown["votes"] == 2
    for v in (pt, en, ko, bob_again, late):
        v.close()
