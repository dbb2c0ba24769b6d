"""Frames ready for the socket: a server frame encoded once as the ASGI ``websocket.send``
message every recipient shares, carrying also the complete RFC 6455 frame that the direct
send path writes to the transport as it is."""

from __future__ import annotations

import struct
from typing import Any

from babelcast.gateway.wire.codec import Codec

# An ASGI "websocket.send" message, built once and shared by every connection it goes to.
# It also carries the complete WebSocket frame under FRAME_KEY for the direct path.
WireMessage = dict[str, Any]
FRAME_KEY = "babelcast.frame"


def websocket_frame(payload: bytes, binary: bool) -> bytes:
    """A complete, unfragmented, unmasked server-to-client WebSocket frame (RFC 6455 5.2)."""
    first = 0x82 if binary else 0x81  # FIN + opcode
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", first, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", first, 126, n)
    else:
        header = struct.pack("!BBQ", first, 127, n)
    return header + payload


def wire_message(frame: dict[str, Any], codec: Codec) -> WireMessage:
    """Encode ``frame`` for ``codec`` as the ASGI message handed to every recipient."""
    payload = codec.encode(frame)
    if isinstance(payload, bytes):
        return {"type": "websocket.send", "bytes": payload,
                FRAME_KEY: websocket_frame(payload, binary=True)}
    return {"type": "websocket.send", "text": payload,
            FRAME_KEY: websocket_frame(payload.encode("utf-8"), binary=False)}
