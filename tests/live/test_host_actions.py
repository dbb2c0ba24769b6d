"""Host actions over real WebSockets: delete, pin, ban (mute) and unban, on one node and across two
nodes sharing Redis; the role=host/host_key stopgap; clear errors for bad targets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from babelcast.gateway.bus.redis import redis_backend
from tests.harness import Frame, LiveServer, Viewer, live_server

KEY = "s3cret-host-key"


@pytest.fixture(scope="module")
def hosted() -> Iterator[LiveServer]:
    """A gateway with a host key (real embedded models)."""
    with live_server(host_key=KEY, rate_limit_per_s=50.0, rate_limit_burst=50) as srv:
        yield srv


def host(srv: LiveServer, room: str, lang: str = "en") -> Viewer:
    return srv.viewer(room, query=f"lang={lang}&name=Host&role=host&host_key={KEY}")


def act(h: Viewer, frame: dict[str, Any]) -> Frame:
    """Send a host action; its ack or error (matched by client_id)."""
    h.send(frame)
    return h.expect(lambda f: f["type"] in ("ack", "error")
                    and f.get("client_id") == frame["client_id"])


def posted(v: Viewer, text: str, cid: str) -> str:
    """Comment ``text`` from ``v``; its id."""
    v.comment(text, client_id=cid)
    return v.expect(lambda f: f["type"] == "ack" and f["client_id"] == cid)["id"]


def test_host_deletes_a_comment_for_every_viewer(hosted: LiveServer, room: str) -> None:
    h = host(hosted, room)
    assert h.welcome["you"]["role"] == "host" and h.welcome["pinned"] is None
    en = hosted.viewer(room, "en", "Bob")
    pt = hosted.viewer(room, "pt", "Ana")
    assert en.welcome["you"]["role"] == "viewer"
    bad = posted(pt, "tem frete grátis?", "c1")
    good = posted(pt, "adorei o batom", "c2")
    for v in (h, en, pt):
        v.expect_comment(good)

    assert act(h, {"type": "delete", "id": bad, "client_id": "d1"}) == {
        "type": "ack", "client_id": "d1", "id": bad}
    for v in (h, en, pt):
        assert v.expect(lambda f: f["type"] == "deleted") == {"type": "deleted", "id": bad}

    late = hosted.viewer(room, "en", "Cy")
    assert [f["id"] for f in late.welcome["history"]] == [good]
    rest = hosted.get(f"/v1/rooms/{room}/history").json()
    assert [m["id"] for m in rest["messages"]] == [good]
    # A viewer resuming from before the deleted message gets the rest, with no gap.
    back = hosted.viewer(room, "en", "Bob", since="0",
                         query=f"lang=en&name=Bob&epoch={en.welcome['epoch']}")
    assert [f["id"] for f in back.welcome["history"]] == [good]
    assert back.welcome["gap"] is False

    again = act(h, {"type": "delete", "id": bad, "client_id": "d2"})
    assert again["code"] == "not_found" and bad in again["message"]


def test_pin_and_unpin_reach_viewers_in_their_language(hosted: LiveServer, room: str) -> None:
    h = host(hosted, room)
    pt = hosted.viewer(room, "pt", "Ana")
    en = hosted.viewer(room, "en", "Bob")
    mid = posted(en, "I love this lipstick", "c1")
    pt.expect_final("I love this lipstick")

    assert act(h, {"type": "pin", "id": mid, "client_id": "p1"}) == {
        "type": "ack", "client_id": "p1", "id": mid}
    got = pt.expect(lambda f: f["type"] == "pinned")
    assert got["id"] == mid and got["comment"]["lang"] == "pt"
    assert got["comment"]["original"] == "I love this lipstick"
    assert got["comment"]["translated"] is True and "batom" in got["comment"]["text"].lower()
    got = en.expect(lambda f: f["type"] == "pinned")
    assert got["comment"]["lang"] == "en" and got["comment"]["text"] == "I love this lipstick"

    late = hosted.viewer(room, "pt", "Lu")
    assert late.welcome["pinned"]["id"] == mid and late.welcome["pinned"]["lang"] == "pt"

    assert act(h, {"type": "pin", "id": None, "client_id": "p2"}) == {
        "type": "ack", "client_id": "p2", "id": None}
    for v in (pt, en, late):
        assert v.expect(lambda f: f["type"] == "pinned" and f["id"] is None) == {
            "type": "pinned", "id": None}
    assert hosted.viewer(room, "en", "Di").welcome["pinned"] is None

    # Deleting the pinned message unpins it too.
    act(h, {"type": "pin", "id": mid, "client_id": "p3"})
    en.expect(lambda f: f["type"] == "pinned" and f["id"] == mid)
    act(h, {"type": "delete", "id": mid, "client_id": "d1"})
    en.expect(lambda f: f["type"] == "deleted" and f["id"] == mid)
    en.expect(lambda f: f["type"] == "pinned" and f["id"] is None)
    assert hosted.viewer(room, "en", "Ed").welcome["pinned"] is None


def test_muted_user_is_refused_and_nobody_receives_it(hosted: LiveServer, room: str) -> None:
    h = host(hosted, room)
    troll = hosted.viewer(room, "en", "Troll")
    other = hosted.viewer(room, "pt", "Ana")
    uid = troll.welcome["you"]["user_id"]
    assert act(h, {"type": "ban", "user_id": uid, "client_id": "b1"}) == {
        "type": "ack", "client_id": "b1", "id": uid}

    troll.comment("buy followers now", client_id="t1")
    err = troll.expect_error()
    assert err["code"] == "muted" and err["client_id"] == "t1"
    # Comments arrive in order: once the next one is in, the refused one can no longer come.
    mid = posted(other, "tem frete grátis?", "o1")
    for v in (h, troll, other):
        v.expect_comment(mid)
        assert not [f for f in v.frames if f["type"] == "comment"
                    and f["original"] == "buy followers now"]
    assert "buy followers now" not in json.dumps(hosted.get(f"/v1/rooms/{room}/history").json())


def test_unban_lifts_the_mute(hosted: LiveServer, room: str) -> None:
    h = host(hosted, room)
    troll = hosted.viewer(room, "en", "Troll")
    other = hosted.viewer(room, "pt", "Ana")
    uid = troll.welcome["you"]["user_id"]
    act(h, {"type": "ban", "user_id": uid, "client_id": "b1"})
    troll.comment("buy followers now", client_id="t1")
    assert troll.expect_error()["code"] == "muted"

    assert act(h, {"type": "unban", "user_id": uid, "client_id": "u1"}) == {
        "type": "ack", "client_id": "u1", "id": uid}
    mid = posted(troll, "sorry, I love this lipstick", "t2")
    for v in (h, other):
        assert v.expect_comment(mid)["user_id"] == uid
    # Unbanning someone who is not muted is acknowledged and changes nothing.
    assert act(h, {"type": "unban", "user_id": "u-nobody", "client_id": "u2"})["type"] == "ack"


def test_viewers_are_still_forbidden(hosted: LiveServer, room: str) -> None:
    v = hosted.viewer(room, "en", "Bob")
    mid = posted(v, "hello there", "c1")
    for frame in ({"type": "delete", "id": mid}, {"type": "pin", "id": mid},
                  {"type": "ban", "user_id": v.welcome["you"]["user_id"]},
                  {"type": "unban", "user_id": v.welcome["you"]["user_id"]}):
        err = act(v, frame | {"client_id": "x"})
        assert err["code"] == "forbidden"
    assert [f["id"] for f in hosted.viewer(room).welcome["history"]] == [mid]


@pytest.mark.parametrize(("frame", "code", "says"), [
    ({"type": "delete", "id": 17}, "invalid_field", "'id'"),
    ({"type": "delete", "id": "abc"}, "invalid_field", "'id'"),
    ({"type": "delete"}, "invalid_field", "'id'"),
    ({"type": "pin", "id": "-3"}, "invalid_field", "'id'"),
    ({"type": "pin"}, "invalid_field", "null to unpin"),
    ({"type": "ban", "user_id": ""}, "invalid_field", "'user_id'"),
    ({"type": "ban", "user_id": "u" * 65}, "invalid_field", "'user_id'"),
    ({"type": "ban", "user_id": 5}, "invalid_field", "'user_id'"),
    ({"type": "unban"}, "invalid_field", "'user_id'"),
    ({"type": "delete", "id": "999"}, "not_found", "999"),
    ({"type": "pin", "id": "999"}, "not_found", "999"),
])
def test_bad_targets_get_clear_errors(hosted: LiveServer, room: str, frame: dict[str, Any],
                                      code: str, says: str) -> None:
    h = host(hosted, room)
    err = act(h, frame | {"client_id": "e1"})
    assert err["type"] == "error" and err["code"] == code and says in err["message"]
    h.send({"type": "ping", "client_id": "alive"})
    h.expect(lambda f: f["type"] == "pong" and f["client_id"] == "alive")


def refused(srv: LiveServer, room: str, query: str) -> Frame:
    """The error frame of a refused handshake (the close that follows is 4400)."""
    ws = connect(f"ws://127.0.0.1:{srv.port}/v1/rooms/{room}/ws?{query}", legacy=True)
    frame = json.loads(ws.recv(timeout=10))
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    return frame


@pytest.mark.parametrize(("query", "code"), [
    ("lang=en&role=host", "forbidden"),
    ("lang=en&role=host&host_key=wrong", "forbidden"),
    ("lang=en&role=host&host_key=", "forbidden"),
    ("lang=en&role=admin&host_key=" + KEY, "invalid_field"),
])
def test_host_role_needs_the_key(hosted: LiveServer, room: str, query: str, code: str) -> None:
    assert refused(hosted, room, query)["code"] == code


def test_host_role_is_disabled_without_a_key(server: LiveServer, room: str) -> None:
    frame = refused(server, room, f"lang=en&role=host&host_key={KEY}")
    assert frame["code"] == "forbidden" and "disabled" in frame["message"]


@pytest.fixture
def nodes(redis_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    with live_server(backend=redis_backend(redis_url), host_key=KEY) as a, \
            live_server(backend=redis_backend(redis_url), host_key=KEY) as b:
        yield a, b


def test_host_actions_reach_viewers_on_another_node(
        nodes: tuple[LiveServer, LiveServer]) -> None:
    a, b = nodes
    room = "cluster-host"
    h = host(a, room)
    near = a.viewer(room, "en", "Bob")
    far = b.viewer(room, "pt", "Ana")
    bad = posted(far, "tem frete grátis?", "c1")
    keep = posted(near, "I love this lipstick", "c2")
    for v in (h, near):
        v.expect_comment(keep)
    far.expect_final("I love this lipstick")  # translated before it is pinned

    assert act(h, {"type": "delete", "id": bad, "client_id": "d1"})["type"] == "ack"
    for v in (h, near, far):
        assert v.expect(lambda f: f["type"] == "deleted") == {"type": "deleted", "id": bad}
    assert [f["id"] for f in b.viewer(room, "en").welcome["history"]] == [keep]
    assert b.get(f"/v1/rooms/{room}").json()["messages"] == 1
    assert act(h, {"type": "delete", "id": bad, "client_id": "d2"})["code"] == "not_found"

    assert act(h, {"type": "pin", "id": keep, "client_id": "p1"})["type"] == "ack"
    got = far.expect(lambda f: f["type"] == "pinned")
    assert got["id"] == keep and got["comment"]["lang"] == "pt"
    assert "batom" in got["comment"]["text"].lower()
    welcome = b.viewer(room, "pt", "Lu").welcome
    assert welcome["pinned"]["id"] == keep and welcome["pinned"]["lang"] == "pt"
    act(h, {"type": "pin", "id": None, "client_id": "p2"})
    assert far.expect(lambda f: f["type"] == "pinned" and f["id"] is None) == {
        "type": "pinned", "id": None}
    assert b.viewer(room, "en").welcome["pinned"] is None

    act(h, {"type": "ban", "user_id": far.welcome["you"]["user_id"], "client_id": "b1"})
    far.comment("spam from the far node", client_id="t1")
    assert far.expect_error()["code"] == "muted"
    mid = posted(near, "still here", "c3")
    for v in (h, near, far):
        v.expect_comment(mid)
        assert not [f for f in v.frames if f["type"] == "comment"
                    and f["original"] == "spam from the far node"]
