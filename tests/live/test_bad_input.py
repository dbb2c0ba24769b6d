"""Every kind of bad input gets an error frame naming the problem, the connection stays
usable, and the other viewers still receive the next valid comment."""

from __future__ import annotations

import json
from urllib.parse import quote

import msgpack
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.harness import LiveServer, Viewer, live_server

BAD_FRAMES = [
    pytest.param("{not json", "invalid_frame", None, id="invalid-json"),
    pytest.param(json.dumps(["comment", "hi"]), "invalid_frame", None, id="not-an-object"),
    pytest.param(json.dumps({"type": "comment", "text": 42, "client_id": "c1"}),
                 "invalid_field", "c1", id="text-not-a-string"),
    pytest.param(json.dumps({"type": 7, "client_id": "c2"}), "invalid_field", "c2",
                 id="type-not-a-string"),
    pytest.param(json.dumps({"type": "comment", "text": "hi", "client_id": 5}),
                 "invalid_field", None, id="client-id-not-a-string"),
    pytest.param(json.dumps({"type": "shout", "client_id": "c3"}), "unknown_type", "c3",
                 id="unknown-type"),
    pytest.param(json.dumps({"type": "comment", "text": "", "client_id": "c4"}),
                 "empty_text", "c4", id="empty-text"),
    pytest.param(json.dumps({"type": "comment", "text": " \t\n ", "client_id": "c5"}),
                 "empty_text", "c5", id="whitespace-only"),
    pytest.param(json.dumps({"type": "comment", "text": "\x00\x07\x1b", "client_id": "c6"}),
                 "empty_text", "c6", id="only-control-characters"),
    pytest.param(json.dumps({"type": "comment", "text": "a" * 501, "client_id": "c7"}),
                 "text_too_long", "c7", id="text-too-long"),
    pytest.param(json.dumps({"type": "comment", "text": "a" * 400, "pad": "b" * 9000,
                             "client_id": "c8"}), "frame_too_large", None,
                 id="frame-too-large"),
    pytest.param(json.dumps({"type": "set_lang", "lang": "klingon", "client_id": "c9"}),
                 "invalid_lang", "c9", id="invalid-lang"),
    pytest.param(json.dumps({"type": "set_lang", "lang": None, "client_id": "c10"}),
                 "invalid_lang", "c10", id="missing-lang"),
    pytest.param(json.dumps({"type": "delete", "id": "1", "client_id": "c11"}),
                 "forbidden", "c11", id="host-only-delete"),
    pytest.param(json.dumps({"type": "ban", "user_id": "u-1", "client_id": "c12"}),
                 "forbidden", "c12", id="host-only-ban"),
    pytest.param(json.dumps({"type": "pin", "id": "1", "client_id": "c13"}),
                 "forbidden", "c13", id="host-only-pin"),
    pytest.param(b"\x01\x02binary", "invalid_frame", None, id="binary-on-json-connection"),
]


def _pair(server: LiveServer, room: str) -> tuple[Viewer, Viewer]:
    sender = server.viewer(room, "en", "sender")
    other = server.viewer(room, "en", "other")
    assert other.welcome["presence"]["total"] == 2  # both are in the room now
    return sender, other


@pytest.mark.parametrize(("payload", "code", "client_id"), BAD_FRAMES)
def test_bad_frame_gets_an_error_and_the_room_goes_on(server: LiveServer, room: str,
                                                      payload: str | bytes, code: str,
                                                      client_id: str | None) -> None:
    sender, other = _pair(server, room)
    sender.send_raw(payload)
    err = sender.expect_error()
    assert err["code"] == code, err
    assert err["client_id"] == client_id
    assert err["message"]
    # Same connection, next valid comment: delivered to everyone, nothing else was.
    sender.comment("still here", client_id="ok")
    assert sender.expect(lambda f: f["type"] == "ack")["client_id"] == "ok"
    got = other.expect_comment("still here")
    assert [f["original"] for f in other.frames if f["type"] == "comment"] == ["still here"]
    assert got["id"] == "1"


def test_bad_msgpack_frames(server: LiveServer, room: str) -> None:
    sender = server.viewer(room, "en", "mp", msgpack_codec=True)
    other = server.viewer(room, "en", "other")
    for payload, code in [(b"\xc1", "invalid_frame"), ("a text frame", "invalid_frame"),
                          (msgpack.packb({"type": "comment", "text": 3, "client_id": "m"}),
                           "invalid_field")]:
        sender.send_raw(payload)
        assert sender.expect_error()["code"] == code
    sender.comment("valid after all that")
    other.expect_comment("valid after all that")


def test_control_characters_are_stripped(server: LiveServer, room: str) -> None:
    sender, other = _pair(server, room)
    sender.comment("hello\x00 the\x1bre\nfriend\x7f")
    got = other.expect(lambda f: f["type"] == "comment")
    assert got["original"] == "hello there friend"


def test_flooding_is_rate_limited_then_disconnected() -> None:
    with live_server(rate_limit_per_s=1.0, rate_limit_burst=3, rate_limit_strikes=5) as srv:
        flooder = srv.viewer("flood", "en", "flooder")
        other = srv.viewer("flood", "en", "other")
        for i in range(3):
            flooder.comment(f"burst {i}", client_id=f"b{i}")
        for i in range(3):
            other.expect_comment(f"burst {i}")
        flooder.comment("one too many", client_id="x1")
        err = flooder.expect_error()
        assert err["code"] == "rate_limited" and err["client_id"] == "x1"
        # It keeps going: closed with the rate-limit close code.
        with pytest.raises(ConnectionClosed) as closed:
            for i in range(50):
                flooder.comment(f"spam {i}")
            while True:
                flooder.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        # Nobody else noticed: the room still works and got no spam.
        polite = srv.viewer("flood", "en", "polite")
        polite.comment("calm comment")
        other.expect_comment("calm comment")
        assert not [f for f in other.frames
                    if f["type"] == "comment" and f["original"].startswith(("spam", "one too"))]


@pytest.mark.parametrize(("query", "code"), [
    ("lang=xx", "invalid_lang"),
    ("lang=en&since=abc", "invalid_since"),
    ("lang=en&name=" + "n" * 40, "invalid_name"),
])
def test_bad_handshake_parameters_are_refused(server: LiveServer, room: str, query: str,
                                              code: str) -> None:
    ws = connect(f"ws://127.0.0.1:{server.port}/v1/rooms/{quote(room)}/ws?{query}", legacy=True)
    frame = json.loads(ws.recv(timeout=10))
    assert frame["type"] == "error" and frame["code"] == code
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
