"""A viewer that completes its handshake and then never reads, while others chat at a modest
rate: the kernel's buffers absorb its frames, so no write ever blocks, yet it is closed within
``stall_timeout_s`` (plus the time its small receive window takes to fill and one watchdog
round), counted in ``slow_consumers_closed``, and the readers lose nothing."""

from __future__ import annotations

import socket
import time

from tests.harness import live_server

STALL_S = 1.0
MARGIN_S = 1.5  # its 4 KiB window filling, one watchdog round (<= STALL_S / 4), scheduling
BODY = "y" * 400
UPGRADE = (b"GET /v1/rooms/silent/ws?lang=en&name=sleepy HTTP/1.1\r\nHost: x\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def test_a_viewer_that_stops_reading_is_closed_within_the_stall_timeout() -> None:
    with live_server(stall_timeout_s=STALL_S, rate_limit_per_s=1000, rate_limit_burst=1000,
                     max_text_chars=1000) as srv:
        a = srv.viewer("silent", "en", "a")
        b = srv.viewer("silent", "en", "b")
        silent = socket.socket()
        # A small receive window (set before connecting, so it is the advertised one): the
        # peer's kernel stops acknowledging after a few frames, as any non-reader's does once
        # its buffer is full.
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        silent.connect(("127.0.0.1", srv.port))
        silent.sendall(UPGRADE)
        assert silent.recv(12).endswith(b"101")
        b.expect(lambda f: f["type"] == "presence" and f["total"] == 3)
        assert srv.get("/v1/stats").json()["slow_consumers_closed"] == 0

        started = time.monotonic()
        sent = 0
        deadline = started + STALL_S + MARGIN_S + 10  # far past the bound: report, not hang
        while srv.get("/v1/stats").json()["slow_consumers_closed"] < 1:
            assert time.monotonic() < deadline, "the silent viewer was never closed"
            a.comment(f"{sent} {BODY}")
            for v in (a, b):  # lock-step: a and b read everything as it comes
                v.expect_comment(f"{sent} {BODY}")
            sent += 1
            time.sleep(0.02)  # the load's pace (~20 KB/s), not a wait for anything
        took = time.monotonic() - started
        assert took < STALL_S + MARGIN_S, f"closed {took:.2f}s after the chat began"
        # No write ever blocked: nothing was dropped for it, it was seen by what it left
        # unacknowledged.
        stats = srv.get("/v1/stats").json()
        assert stats["slow_consumers_closed"] == 1 and stats["frames_dropped"] == 0

        # Its connection is gone (the close frame, if it fits, then EOF or a reset).
        silent.settimeout(10)
        data = b""
        try:
            while chunk := silent.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        silent.close()
        assert srv.get("/v1/rooms/silent").json()["viewers_total"] == 2
        # The readers lost nothing and go on.
        a.comment("after")
        for v in (a, b):
            v.expect_comment("after")
            got = [f["original"].split(" ", 1)[0] for f in v.frames if f["type"] == "comment"]
            assert got == [str(i) for i in range(sent)] + ["after"]
