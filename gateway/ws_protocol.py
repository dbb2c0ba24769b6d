"""uvicorn's sans-I/O WebSocket protocol, plus one thing the gateway needs: closing a
connection whose peer stopped reading.

uvicorn's ``send`` waits until the transport is writable before every message, including
``websocket.close``. A viewer that stopped reading keeps the transport paused forever, so a
close would never go out and the socket would linger. Here a close on a paused transport
aborts the TCP connection instead (the viewer could not have read the close frame anyway).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class StallAbortingWebSocketProtocol(WebSocketsSansIOProtocol):
    """``WebSocketsSansIOProtocol`` that aborts instead of waiting to send a close frame to a
    peer that is not reading."""

    async def send(self, message: Any) -> None:  # type: ignore[override]
        if (message["type"] == "websocket.close" and self.handshake_complete
                and not self.close_sent and not self.writable.is_set()):
            self.close_sent = True
            self.queue.put_nowait({"type": "websocket.disconnect",
                                   "code": message.get("code", 1000),
                                   "reason": message.get("reason", "") or ""})
            self.transport.abort()
            return
        await super().send(message)
