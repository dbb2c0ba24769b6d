"""Connections that never finish their request (slowloris) are closed within
``handshake_timeout_s`` and counted, over real sockets against a live gateway; a normal client
is unaffected."""

from __future__ import annotations

import re
import socket
import time

from tests.harness import LiveServer, live_server

TIMEOUT_S = 0.5
MARGIN_S = 1.0  # the event loop's timer, the close, the kernel: far less on an idle machine


def timed_out_total(srv: LiveServer) -> float:
    text = srv.get("/metrics").text
    found = re.search(r"^babelcast_handshakes_timed_out_total (\S+)$", text, re.M)
    assert found, "babelcast_handshakes_timed_out_total is missing from /metrics"
    return float(found.group(1))


def seconds_until_closed(sock: socket.socket, opened: float, limit: float) -> float:
    """Read until the server closes ``sock`` (EOF or reset); seconds since ``opened``."""
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - opened


def test_partial_and_silent_requests_are_closed_in_time_and_counted() -> None:
    with live_server(handshake_timeout_s=TIMEOUT_S) as srv:
        viewer = srv.viewer("slow", "en", "Bob")  # connected before, reads as usual
        before = timed_out_total(srv)
        opened = time.monotonic()
        silent = socket.create_connection(("127.0.0.1", srv.port))
        half = socket.create_connection(("127.0.0.1", srv.port))
        half.sendall(b"GET /v1/rooms/slow/ws?lang=en HT")  # half a request line
        headers = socket.create_connection(("127.0.0.1", srv.port))
        headers.sendall(b"GET /v1/rooms/slow/ws?lang=en HTTP/1.1\r\nHost: x\r\n"
                        b"Upgrade: websocket\r\n")  # the upgrade request, never finished
        try:
            for sock in (silent, half, headers):
                took = seconds_until_closed(sock, opened, TIMEOUT_S + MARGIN_S + 5)
                assert took < TIMEOUT_S + MARGIN_S, f"closed after {took:.2f}s"
        finally:
            for sock in (silent, half, headers):
                sock.close()
        # Counted, and only those three: the viewer and the /metrics requests were whole.
        assert timed_out_total(srv) - before == 3
        # The viewer that completed its handshake long ago is untouched and still chats.
        viewer.comment("still here", client_id="c1")
        assert viewer.expect(lambda f: f["type"] == "ack")["client_id"] == "c1"
        assert viewer.expect_comment("still here")["original"] == "still here"
        # A new client that sends its request whole gets its answer.
        assert srv.get("/healthz").status_code == 200


def test_a_kept_alive_connection_is_held_to_the_deadline_on_its_next_request() -> None:
    with live_server(handshake_timeout_s=TIMEOUT_S) as srv:
        before = timed_out_total(srv)
        sock = socket.create_connection(("127.0.0.1", srv.port))
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            opened = time.monotonic()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # the next one, never finished
            took = seconds_until_closed(sock, opened, TIMEOUT_S + MARGIN_S + 5)
            assert took < TIMEOUT_S + MARGIN_S, f"closed after {took:.2f}s"
        finally:
            sock.close()
        assert timed_out_total(srv) - before == 1
