"""End to end: the real app on a socket, real WebSocket viewers, the real embedded models."""

from __future__ import annotations

import time

import pytest

from tests.harness import LiveServer, live_server


def test_english_and_portuguese_viewers_read_each_other_translated(server: LiveServer,
                                                                     room: str) -> None:
    en = server.viewer(room, "en", "Bob")
    pt = server.viewer(room, "pt", "Ana")
    # Both languages are present (pt's welcome counts both), so translation starts at once.
    assert pt.welcome["presence"]["viewers"] == {"en": 1, "pt": 1}

    pt.comment("tem frete grátis?", client_id="c1")
    ack = pt.expect(lambda f: f["type"] == "ack")
    assert ack["client_id"] == "c1" and ack["src_lang"] == "pt"
    got = en.expect_comment("tem frete grátis?")
    assert got["id"] == ack["id"]
    assert got["translated"] is True and got["pending"] is False
    assert got["src_lang"] == "pt" and got["lang"] == "en" and got["user"] == "Ana"
    assert "free shipping" in got["text"].lower()
    own = pt.expect_comment("tem frete grátis?")
    assert own["text"] == "tem frete grátis?" and own["translated"] is False

    en.comment("I love this lipstick", client_id="c2")
    got = pt.expect_comment("I love this lipstick")
    assert got["translated"] is True and got["src_lang"] == "en"
    assert "batom" in got["text"].lower()
    # Idle, writable viewers get frames written straight to their socket (no writer wake-up).
    assert server.get("/v1/stats").json()["frames_direct"] > 0


def test_msgpack_viewer_gets_binary_frames_translated(server: LiveServer, room: str) -> None:
    pt = server.viewer(room, "pt", "Ana", msgpack_codec=True)
    assert pt.ws.subprotocol == "babelcast.v1.msgpack"
    en = server.viewer(room, "en", "Bob")
    en.comment("I love this lipstick")
    got = pt.expect_comment("I love this lipstick")
    assert got["translated"] is True and "batom" in got["text"].lower()
    pt.comment("obrigada!", client_id="m1")
    assert pt.expect(lambda f: f["type"] == "ack")["client_id"] == "m1"


def test_language_without_engine_gets_original_marked_untranslated(server: LiveServer,
                                                                    room: str) -> None:
    en = server.viewer(room, "en", "Bob")
    ko = server.viewer(room, "ko", "Kim")
    en.comment("Is this lipstick waterproof?")
    got = ko.expect_comment("Is this lipstick waterproof?")
    assert got["text"] == "Is this lipstick waterproof?"
    assert got["translated"] is False and got["pending"] is False
    assert got["reason"] == "no_route"


def test_emoji_and_number_only_comments_are_relayed_as_they_are(server: LiveServer,
                                                                room: str) -> None:
    en = server.viewer(room, "en")
    pt = server.viewer(room, "pt")
    for text in ("😍😍🔥", "12345"):
        pt.comment(text)
        got = en.expect_comment(text)
        assert got["text"] == text and got["src_lang"] == "und"
        assert got["translated"] is False and got["reason"] == "undetermined"


def test_reconnect_with_since_replays_exactly_the_missed_messages(server: LiveServer,
                                                                  room: str) -> None:
    en = server.viewer(room, "en", "Bob")
    pt = server.viewer(room, "pt", "Ana")
    en.comment("first comment")
    last_seen = pt.expect_comment("first comment")["id"]
    pt.close()

    missed = ["where do you ship?", "I love this color", "how much is it?"]
    ids = []
    for n, text in enumerate(missed):
        en.comment(text, client_id=f"m{n}")
        ids.append(en.expect(lambda f, c=f"m{n}": f["type"] == "ack" and f["client_id"] == c)
                   ["id"])

    back = server.viewer(room, "pt", "Ana", since=last_seen)
    history = back.welcome["history"]
    assert [f["id"] for f in history] == ids
    assert [f["original"] for f in history] == missed
    assert back.welcome["gap"] is False
    # Each missed comment arrives in Portuguese: already translated, or pending + translation.
    for frame in history:
        if frame["pending"]:
            t = back.expect(lambda f, i=frame["id"]: f["type"] == "translation" and f["id"] == i)
            assert t["translated"] is True and t["lang"] == "pt"
        else:
            assert frame["translated"] is True and frame["lang"] == "pt"
    # Live traffic continues after the replay, with no duplicates of replayed ids.
    en.comment("welcome back")
    live = back.expect_comment("welcome back")
    seen_ids = [f["id"] for f in back.frames if f["type"] == "comment"]
    assert seen_ids == [live["id"]]


def test_set_lang_switches_language_mid_stream(server: LiveServer, room: str) -> None:
    en = server.viewer(room, "en", "Bob")
    viewer = server.viewer(room, "ko", "Zé")
    en.comment("I love this lipstick")
    got = viewer.expect_comment("I love this lipstick")
    assert got["translated"] is False

    viewer.send({"type": "set_lang", "lang": "pt-BR", "client_id": "s1"})
    changed = viewer.expect(lambda f: f["type"] == "lang_changed")
    assert changed["lang"] == "pt" and changed["client_id"] == "s1"
    assert [f["original"] for f in changed["history"]] == ["I love this lipstick"]
    frame = changed["history"][0]
    if frame["pending"]:
        frame = viewer.expect(lambda f: f["type"] == "translation")
    assert frame["translated"] is True and "batom" in frame["text"].lower()

    en.comment("Is it waterproof?")
    got = viewer.expect_comment("Is it waterproof?")
    assert got["lang"] == "pt" and got["translated"] is True


def test_slow_translation_goes_out_pending_then_translation_follows() -> None:
    # translation_wait_ms=0: the comment never waits for the model.
    with live_server(translation_wait_ms=0) as srv:
        en = srv.viewer("pending", "en")
        pt = srv.viewer("pending", "pt")
        en.comment("The blue one is beautiful")
        got = pt.expect_comment("The blue one is beautiful")
        assert got["pending"] is True and got["translated"] is False
        assert got["text"] == "The blue one is beautiful"
        t = pt.expect(lambda f: f["type"] == "translation" and f["id"] == got["id"])
        assert t["lang"] == "pt" and t["translated"] is True and t["text"] != got["text"]
        # The English reader is not waiting for anything.
        assert en.expect_comment("The blue one is beautiful")["pending"] is False


def test_translate_once_per_message_and_language_not_per_viewer(server: LiveServer,
                                                                room: str) -> None:
    pts = [server.viewer(room, "pt", f"p{i}") for i in range(5)]
    en = server.viewer(room, "en")
    stats = server.get("/v1/stats").json()["translation"]
    en.comment("Only one translation for five readers, thanks")
    texts = {v.expect_comment("Only one translation for five readers, thanks")["text"]
             for v in pts}
    assert len(texts) == 1
    after = server.get("/v1/stats").json()["translation"]
    assert after["engine_calls"] - stats["engine_calls"] == 1


def test_presence_is_sent_at_a_bounded_rate() -> None:
    interval = 1.0
    with live_server(presence_interval_s=interval) as srv:
        watcher = srv.viewer("presence", "en")
        start = time.monotonic()
        others = [srv.viewer("presence", "pt" if i % 2 else "es") for i in range(12)]
        final = watcher.expect(lambda f: f["type"] == "presence" and f["total"] == 13)
        elapsed = time.monotonic() - start
        count = sum(1 for f in watcher.frames if f["type"] == "presence")
        assert final["viewers"] == {"en": 1, "pt": 6, "es": 6}
        # One frame at once, then at most one per interval: not one per join.
        assert count <= 2 + elapsed / interval
        assert count < len(others)


def test_stalled_viewer_does_not_delay_the_others() -> None:
    import socket

    with live_server(stall_timeout_s=1.0, send_queue_frames=32, rate_limit_per_s=10_000,
                     rate_limit_burst=10_000, max_text_chars=4000,
                     max_frame_bytes=65_536) as srv:
        port = srv.port
        # A viewer that completes the handshake and then never reads.
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(
            b"GET /v1/rooms/stall/ws?lang=en&name=sleepy HTTP/1.1\r\nHost: x\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert b"101" in stalled.recv(12)
        a = srv.viewer("stall", "en", "a")
        b = srv.viewer("stall", "en", "b")
        assert b.welcome["presence"]["total"] == 3
        body = "x" * 3000
        n = 1500  # ~9 MB per viewer: far more than the stalled socket's buffers hold
        for i in range(n):
            # Lock-step: a and b read each comment before the next is sent, so they are
            # fast readers; only the stalled viewer falls behind.
            a.comment(f"{i} {body}")
            for v in (a, b):
                v.expect_comment(f"{i} {body}")
        for v in (a, b):
            got = [f["original"].split(" ", 1)[0] for f in v.frames if f["type"] == "comment"]
            assert got == [str(i) for i in range(n)]
        # The stalled viewer was cut off; the others lost nothing.
        deadline = time.monotonic() + 20
        while srv.get("/v1/stats").json()["slow_consumers_closed"] < 1:
            assert time.monotonic() < deadline, "stalled viewer was never closed"
            time.sleep(0.05)
        # (Its oldest frames may have been dropped first, or it may have been seen taking
        # nothing before its queue filled: tests/live/test_stalled_reader.py.)
        assert srv.get("/v1/rooms/stall").json()["viewers_total"] == 2
        stalled.close()


@pytest.mark.parametrize("bad_room", ["-leading-dash", "has space", "a" * 65, "ümlaut"])
def test_invalid_room_names_are_refused_with_a_clear_error(server: LiveServer,
                                                           bad_room: str) -> None:
    from urllib.parse import quote

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    ws = connect(f"ws://127.0.0.1:{server.port}/v1/rooms/{quote(bad_room)}/ws?lang=en",
                 legacy=True)
    frame = __import__("json").loads(ws.recv(timeout=10))
    assert frame["type"] == "error" and frame["code"] == "invalid_room"
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


def test_resume_from_another_epoch_gets_fresh_history_flagged_as_a_gap(server: LiveServer,
                                                                       room: str) -> None:
    en = server.viewer(room, "en")
    epoch = en.welcome["epoch"]
    en.comment("one", client_id="1")
    en.expect(lambda f: f["type"] == "ack")
    same = server.viewer(room, "en", since="0", query=f"lang=en&epoch={epoch}")
    assert [f["original"] for f in same.welcome["history"]] == ["one"]
    assert same.welcome["gap"] is False
    other = server.viewer(room, "en", since="1", query="lang=en&epoch=feedface")
    assert other.welcome["gap"] is True
    assert [f["original"] for f in other.welcome["history"]] == ["one"]
