"""Joining a viewer's direct-path frames into one write while its room has a backlog.

``DirectWriter`` is what the server's direct send path offers (a socket the fan-out can write
pre-built frames to); ``WriteBatch`` decides whether a frame goes out now or at the end of the
loop iteration together with the same connection's others: one ``send()`` for several frames.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class DirectWriter(Protocol):
    """Writes pre-built frames straight to a socket (``web.uvicorn_protocol.DirectSender``)."""

    # Frames given to a WriteBatch and not yet written (b"": none); the batch owns it.
    pending: bytes

    def ready(self) -> bool: ...

    def closed(self) -> bool: ...

    def write(self, frame: bytes) -> None: ...

    # Seconds the peer has been owed bytes and acknowledged none (0.0: it is keeping up).
    def stalled_for(self, now: float) -> float: ...


class WriteBatch:
    """Joins a viewer's direct-path frames into one write while the room has a backlog.

    Each write is a ``send()`` syscall, the largest cost of fan-out. When a room's dispatcher
    has more events waiting behind the one it handles (the node fell behind, or a translation
    batch released several comments at once), it sets ``joining``: frames then wait on their
    connection's ``DirectWriter.pending`` and each viewer gets everything in one write at the
    end of the loop iteration. With no backlog, frames are written at once, as before: waiting
    would only add latency. A frame for a connection that already has pending frames always
    joins them, so the order on the wire is the order of ``write``; the flush is scheduled with
    the first pending frame, so anything scheduled later (a writer task started after it)
    writes after it. Pending frames are joined as bytes: no per-frame container for the
    garbage collector to scan."""

    __slots__ = ("_dirty", "joined", "joining")

    def __init__(self) -> None:
        self._dirty: list[DirectWriter] = []  # writers with pending frames, in order
        self.joining = False  # set by a room dispatcher around an event with more behind it
        self.joined = 0  # frames that went out in one write with an earlier one (saved sends)

    def write(self, direct: DirectWriter, frame: bytes) -> None:
        """Write ``frame`` to ``direct`` now, or at the end of this loop iteration together
        with the connection's other frames."""
        if direct.pending:
            direct.pending += frame
            self.joined += 1
        elif not self.joining:
            direct.write(frame)
        else:
            direct.pending = frame
            if not self._dirty:
                asyncio.get_running_loop().call_soon(self.flush)
            self._dirty.append(direct)

    def flush(self) -> None:
        """Write every connection's pending frames (a connection closed meanwhile gets
        nothing: its reader is finishing it)."""
        dirty, self._dirty = self._dirty, []
        for direct in dirty:
            data, direct.pending = direct.pending, b""
            if not direct.closed():
                direct.write(data)
