"""Language groups: the connections of one room reading one language, and ``broadcast``,
which encodes a frame once per codec in use and hands the same message to every connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from babelcast.gateway.rooms.connection import Connection
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.framing import WireMessage, wire_message


class LanguageGroup:
    """The connections of one room reading one language. A frame is encoded once per codec
    in use and the same message object goes to every member."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.members: dict[int, Connection] = {}

    def __len__(self) -> int:
        return len(self.members)

    def broadcast(self, frame: dict[str, Any], message_id: int = 0) -> None:
        """Queue ``frame`` to every member without waiting on any of them."""
        broadcast(self.members.values(), frame, message_id)


def broadcast(connections: Iterable[Connection], frame: dict[str, Any],
              message_id: int = 0) -> None:
    """Encode ``frame`` at most once per codec and queue it to each connection."""
    encoded: dict[Codec, WireMessage] = {}
    for conn in connections:
        message = encoded.get(conn.codec)
        if message is None:
            message = encoded[conn.codec] = wire_message(frame, conn.codec)
        conn.push(message, message_id)
