"""Moderation end to end: the real server, real WebSocket viewers, the real en<->pt models.
A Portuguese insult caught by the English default list through its translation; a room's own
blocklist; slow mode; the rate cap shedding repeats first and never the host; a comment
published before its moderation translation was ready, then deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import Frame, LiveServer, Viewer, live_server

KEY = "mod-host-key"
# The embedded pt->en model translates this to "you are a loser"; "loser" is on the English
# default list, "perdedor" is on no list: only the translation can catch it.
PT_INSULT = "você é um perdedor"


@pytest.fixture(scope="module")
def srv() -> Iterator[LiveServer]:
    with live_server(host_key=KEY, rate_limit_per_s=50.0, rate_limit_burst=50) as server:
        yield server


def host(srv: LiveServer, room: str) -> Viewer:
    return srv.viewer(room, query=f"lang=en&name=Host&role=host&host_key={KEY}")


def outcome(v: Viewer, client_id: str) -> Frame:
    """The ack or error answering the comment sent with ``client_id``."""
    return v.expect(lambda f: f["type"] in ("ack", "error") and f["client_id"] == client_id)


def moderation_stats(srv: LiveServer) -> dict[str, int]:
    stats: dict[str, int] = srv.get("/v1/stats").json()["moderation"]
    return stats


def originals(v: Viewer) -> list[str]:
    return [f["original"] for f in v.frames if f["type"] == "comment"]


def put_settings(srv: LiveServer, room: str, **fields: Any) -> dict[str, Any]:
    r = srv.put(f"/v1/rooms/{room}/settings", json=fields)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_portuguese_insult_is_blocked_through_its_english_translation(
        srv: LiveServer, room: str) -> None:
    before = moderation_stats(srv)
    en = srv.viewer(room, "en", "Bob")
    other = srv.viewer(room, "pt", "Caio")
    pt = srv.viewer(room, "pt", "Ana")
    pt.comment(PT_INSULT, client_id="bad")
    refused = outcome(pt, "bad")
    assert refused["type"] == "error" and refused["code"] == "blocked"
    assert "in its translation" in refused["message"] and "rephrase" in refused["message"]
    pt.comment("adorei o batom", client_id="ok")
    assert outcome(pt, "ok")["type"] == "ack"
    # The next comment reaches both viewers, the blocked one never did.
    assert en.expect_comment("adorei o batom")["translated"] is True
    other.expect_comment("adorei o batom")
    for v in (en, other, pt):
        assert PT_INSULT not in originals(v)
    history = srv.get(f"/v1/rooms/{room}/history").json()["messages"]
    assert [m["original"] for m in history] == ["adorei o batom"]
    after = moderation_stats(srv)
    assert after["blocked_translation"] == before["blocked_translation"] + 1
    assert after["blocked"] == before["blocked"]  # the Portuguese text itself was clean
    metrics = srv.get("/metrics").text
    assert 'babelcast_moderated_comments_total{outcome="blocked_translation"}' in metrics


def test_without_a_route_to_the_moderation_language_the_text_as_written_is_checked(
        srv: LiveServer, room: str) -> None:
    """Korean has no engine here: no translation to check, but the Korean default list
    still applies to the text as written."""
    before = moderation_stats(srv)
    en = srv.viewer(room, "en", "Bob")
    ko = srv.viewer(room, "ko", "Kim")
    ko.comment("너 바보야", client_id="k1")  # "you fool": on the Korean default list
    assert outcome(ko, "k1")["code"] == "blocked"
    ko.comment("이 립스틱 얼마예요?", client_id="k2")
    assert outcome(ko, "k2")["type"] == "ack"
    assert en.expect_comment("이 립스틱 얼마예요?")["src_lang"] == "ko"
    assert "너 바보야" not in originals(en)
    after = moderation_stats(srv)
    assert after["blocked"] == before["blocked"] + 1
    assert after["unchecked_translation"] == before["unchecked_translation"] + 1


def test_room_blocklist_catches_disguised_words_and_spares_innocent_ones(
        srv: LiveServer, room: str) -> None:
    got = put_settings(srv, room, blocklist=["banana", "cheap pills"],
                       use_default_blocklist=False)
    assert got["blocklist"] == ["banana", "cheap pills"]
    assert got["use_default_blocklist"] is False and got["moderation_lang"] == "en"
    bystander = srv.viewer(room, "en", "Bob")
    v = srv.viewer(room, "en", "Eve")
    for i, text in enumerate(["B.A.N.A.N.A", "ch34p p1lls here", "bananaaaa"]):
        v.comment(text, client_id=f"b{i}")
        assert outcome(v, f"b{i}")["code"] == "blocked", text
    v.comment("you are an idiot", client_id="d")  # the default list is off in this room
    v.comment("bananas and cheaper pillows", client_id="s")  # not whole words
    assert outcome(v, "d")["type"] == "ack" and outcome(v, "s")["type"] == "ack"
    bystander.expect_comment("bananas and cheaper pillows")
    assert originals(bystander) == ["you are an idiot", "bananas and cheaper pillows"]


def test_room_settings_refuse_bad_moderation_values(srv: LiveServer, room: str) -> None:
    for body, says in [({"blocklist": "banana"}, "must be a list"),
                       ({"blocklist": ["!!"]}, "no letters"),
                       ({"slow_mode_s": -1}, "slow_mode_s"),
                       ({"max_comments_per_s": "lots"}, "whole number"),
                       ({"moderation_lang": "xx-nope"}, "ISO 639-1"),
                       ({"use_default_blocklist": 1}, "true or false"),
                       ({"slowmode": 3}, "moderation fields")]:
        r = srv.put(f"/v1/rooms/{room}/settings", json=body)
        assert r.status_code == 400, body
        assert says in r.json()["error"]["message"], r.json()
    assert srv.get(f"/v1/rooms/{room}/settings").json()["slow_mode_s"] == 0.0  # unchanged


def test_slow_mode_refuses_early_comments_but_not_the_host(srv: LiveServer, room: str) -> None:
    put_settings(srv, room, slow_mode_s=60)
    h = host(srv, room)
    v = srv.viewer(room, "en", "Eve")
    v.comment("first question", client_id="q1")
    v.comment("second question", client_id="q2")
    assert outcome(v, "q1")["type"] == "ack"
    early = outcome(v, "q2")
    assert early["code"] == "slow_mode" and 0 < early["retry_after_s"] <= 60
    assert "wait" in early["message"]
    for i in range(3):
        h.comment(f"host says {i}", client_id=f"h{i}")
    assert [outcome(h, f"h{i}")["type"] for i in range(3)] == ["ack"] * 3
    v.expect_comment("host says 2")
    assert "second question" not in originals(v)
    h.comment("don't be an idiot", client_id="h9")  # the blocklist applies to the host too
    assert outcome(h, "h9")["code"] == "blocked"
    v.close()  # reconnecting as the same user (address and name) does not reset the interval
    again = srv.viewer(room, "en", "Eve")
    again.comment("third question", client_id="q3")
    assert outcome(again, "q3")["code"] == "slow_mode"


def test_rate_cap_sheds_repeats_first_and_never_the_host(srv: LiveServer, room: str) -> None:
    put_settings(srv, room, max_comments_per_s=2)
    bystander = srv.viewer(room, "en", "Bob")
    v = srv.viewer(room, "en", "Eve")
    # Sent in one burst: at 1 of 2 a repeat is shed but an emoji-only comment still passes;
    # at 2 of 2 anything from a viewer is shed.
    burst = [("r1", "big sale"), ("r2", "BIG SALE"), ("e1", "😍🔥"), ("o1", "what size?")]
    for cid, text in burst:
        v.comment(text, client_id=cid)
    codes = {cid: outcome(v, cid).get("code", "ack") for cid, _ in burst}
    assert codes == {"r1": "ack", "r2": "room_busy", "e1": "ack", "o1": "room_busy"}
    h = host(srv, room)
    for i in range(4):  # past the cap, and repeated: still delivered
        h.comment("welcome everyone", client_id=f"h{i}")
    assert [outcome(h, f"h{i}")["type"] for i in range(4)] == ["ack"] * 4
    for _ in range(4):
        bystander.expect_comment("welcome everyone")
    assert originals(bystander) == ["big sale", "😍🔥"] + ["welcome everyone"] * 4
    shed = moderation_stats(srv)
    assert shed["shed_repeat"] >= 1 and shed["shed_other"] >= 1


def test_comment_published_before_its_check_is_deleted_when_the_translation_is_blocked(
        room: str) -> None:
    """With no wait for the moderation translation, the comment goes out at once and is
    deleted for everyone when its English translation turns out blocked."""
    with live_server(moderation_wait_ms=0) as srv:
        en = srv.viewer(room, "en", "Bob")
        pt = srv.viewer(room, "pt", "Ana")
        pt.comment(PT_INSULT, client_id="bad")
        ack = outcome(pt, "bad")
        assert ack["type"] == "ack"
        for v in (en, pt):
            assert v.expect(lambda f: f["type"] == "deleted") == {"type": "deleted",
                                                                  "id": ack["id"]}
        assert srv.get(f"/v1/rooms/{room}/history").json()["messages"] == []
        stats = moderation_stats(srv)
        assert stats["late_translation"] == 1 and stats["deleted_late"] == 1
