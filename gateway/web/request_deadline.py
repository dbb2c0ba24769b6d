"""uvicorn's HTTP protocol with a deadline on reading each request.

uvicorn closes a keep-alive connection that stays idle between requests, but a connection that
sends part of a request (or nothing at all) is held open for as long as the peer likes: each
such socket holds a file descriptor, and a few thousand of them exhaust the process
(slowloris). Here a request (its request line, headers and body; for a WebSocket, its upgrade
request) must arrive whole within ``handshake_timeout_s`` of its first byte, or of the
connection's opening for the first request; else the connection is closed and counted.

The app offers the deadline through its lifespan state (``HANDSHAKE_GUARD_STATE``): the
protocol objects are made by uvicorn, which hands them that state and nothing of the app's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("babelcast.http")

HANDSHAKE_GUARD_STATE = "babelcast.handshake_guard"


@dataclass
class HandshakeGuard:
    """The deadline and what it cost: one per app, shared by its connections."""

    timeout_s: float
    timed_out: int = 0  # connections closed for not completing a request in time


class RequestDeadlineH11Protocol(H11Protocol):
    """``H11Protocol`` that closes a connection whose request is not complete in time."""

    _deadline: asyncio.TimerHandle | None = None
    _reading = False  # a request has started (or the connection opened) and is not complete
    _before: object = None  # the request cycle that was current when this request started

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start()

    def data_received(self, data: bytes) -> None:
        if not self._reading and (self.cycle is None or self.cycle.response_complete):
            self._start()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self._reading and self._request_complete():
            self._stop()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _guard(self) -> HandshakeGuard | None:
        guard: Any = self.app_state.get(HANDSHAKE_GUARD_STATE)
        return guard if isinstance(guard, HandshakeGuard) else None

    def _start(self) -> None:
        guard = self._guard()
        if guard is None:
            return
        self._reading = True
        self._before = self.cycle
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(guard.timeout_s, self._expired, guard)

    def _stop(self) -> None:
        self._reading = False
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _request_complete(self) -> bool:
        """Whether the request being read has arrived whole: handed to the WebSocket
        protocol (an upgrade), or a new request cycle whose body is complete."""
        if self.transport.get_protocol() is not self:
            return True
        cycle = self.cycle
        return cycle is not None and cycle is not self._before and not cycle.more_body

    def _expired(self, guard: HandshakeGuard) -> None:
        self._deadline = None
        if not self._reading or self.transport.is_closing():
            return
        self._reading = False
        guard.timed_out += 1
        log.info("closing a connection from %s: no complete request within %.1fs",
                 self.client, guard.timeout_s)
        self.transport.close()
