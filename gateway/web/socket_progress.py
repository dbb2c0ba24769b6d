"""Whether the peer of a socket is taking what is sent to it, read from the kernel.

A viewer that stops reading does not block a write at once: the transport's buffer, the
kernel's send queue (hundreds of KB) and the peer's receive window absorb frames for a long
time. What does stop is the peer's acknowledgements. ``ReaderProgress`` samples the bytes owed
to the peer (in the transport's buffer, plus the kernel's unsent and unacknowledged bytes:
``SIOCOUTQ``) and the bytes it has acknowledged so far (``TCP_INFO``'s ``tcpi_bytes_acked``,
Linux 4.1+); a peer owed bytes whose acknowledged count has not moved is stalled, for as long
as that lasts. Elsewhere (no ``SIOCOUTQ``/``TCP_INFO``) only the transport's buffer is seen:
a peer is then stalled while that buffer does not shrink.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import sys
from typing import Any

# SIOCOUTQ, the same number as TIOCOUTQ on Linux: bytes in the send queue not yet acknowledged.
_SIOCOUTQ = 0x5411 if sys.platform.startswith("linux") else None
_TCP_INFO = getattr(socket, "TCP_INFO", None) if sys.platform.startswith("linux") else None
_TCPI_BYTES_ACKED = 120  # offset of tcpi_bytes_acked (u64) in struct tcp_info
_INT = b"\0\0\0\0"


def kernel_owed(fd: int) -> int | None:
    """Bytes in the kernel's send queue of ``fd`` not yet acknowledged by the peer (None:
    not known on this platform or for this socket)."""
    if _SIOCOUTQ is None or fd < 0:
        return None
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, _SIOCOUTQ, _INT))[0])
    except OSError:
        return None


def bytes_acked(sock: Any) -> int | None:
    """Bytes the peer of TCP socket ``sock`` has acknowledged since the connection opened
    (None: not known)."""
    if _TCP_INFO is None or sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 256)
    except OSError:
        return None
    if len(info) < _TCPI_BYTES_ACKED + 8:
        return None
    return int(struct.unpack_from("Q", info, _TCPI_BYTES_ACKED)[0])


class ReaderProgress:
    """How long the peer of one transport has taken none of the bytes owed to it."""

    __slots__ = ("_fd", "_mark", "_since", "_socket", "_transport", "owed")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._socket = transport.get_extra_info("socket")
        try:
            self._fd = self._socket.fileno() if self._socket is not None else -1
        except OSError:
            self._fd = -1
        self._since: float | None = None  # when the current stretch without progress began
        self._mark: int | None = None  # acknowledged bytes then (or the buffer's size)
        self.owed = 0  # bytes owed at the last sample

    def stalled_for(self, now: float) -> float:
        """Seconds (on ``now``'s clock) during which the peer has been owed bytes and has
        acknowledged none of them; 0.0 when nothing is owed or the peer took some since the
        last call. Called a few times per stall timeout; it is one or two system calls."""
        if self._transport.is_closing():  # (its descriptor may already be another socket's)
            self._since = None
            return 0.0
        owed = self._transport.get_write_buffer_size()
        kernel = kernel_owed(self._fd)
        if kernel is not None:
            owed += kernel
        self.owed = owed
        if owed == 0:
            self._since = None
            return 0.0
        acked = bytes_acked(self._socket) if kernel is not None else None
        if acked is not None:
            progressed = acked != self._mark
            mark = acked
        else:  # only the transport's buffer is seen: progress is that buffer shrinking
            progressed = self._mark is None or owed < self._mark
            mark = owed
        if self._since is None or progressed:
            self._since = now
        self._mark = mark
        return now - self._since
