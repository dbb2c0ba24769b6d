"""The stall watchdog: closes the connections of viewers that stopped reading, so that a
slow reader costs its own frames and never anyone else's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from babelcast.gateway.rooms.connection import Connection

log = logging.getLogger("babelcast.fanout")


class StallWatchdog:
    """Closes connections that have taken nothing for longer than ``timeout_s``: a send
    blocked that long, or (seen through the direct path's socket) bytes owed to the peer and
    none acknowledged that long, though no write blocked: the kernel's buffers absorb
    hundreds of KB before one does."""

    def __init__(self, connections: Callable[[], Iterable[Connection]], timeout_s: float,
                 close_code: int) -> None:
        self._connections = connections
        self.timeout_s = timeout_s
        self.close_code = close_code
        self.closed_count = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stall-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def check(self, now: float) -> int:
        """Close every stalled connection; returns how many were closed."""
        closed = 0
        for conn in list(self._connections()):
            if conn.closing:
                continue
            started = conn.send_started
            stalled = now - started if started is not None else 0.0
            if conn.direct is not None:
                stalled = max(stalled, conn.direct.stalled_for(now))
            if stalled > self.timeout_s:
                log.info("closing stalled connection %s (%s in %s): no progress for %.1fs, "
                         "%d frames dropped", conn.id, conn.info.user, conn.info.room,
                         stalled, conn.queue.dropped)
                conn.close(self.close_code, "slow consumer: not reading")
                closed += 1
        self.closed_count += closed
        return closed

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = min(1.0, max(0.02, self.timeout_s / 4))
        while True:
            await asyncio.sleep(interval)
            self.check(loop.time())
