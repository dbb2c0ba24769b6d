"""One viewer's socket as fan-out sees it: a bounded send queue, and a writer task that runs
only while something is queued.

The event loop never waits on a viewer: producers only append to queues (or, when nothing is
queued and the socket takes data, write the pre-built frame straight to it). A queue that is
full drops its oldest frame (counted); a writer whose send has been blocked for longer than the
stall timeout gets its connection closed by the ``StallWatchdog``.

The writer is started lazily and exits once its queue is drained: most viewers are idle and get
live frames through the direct path, so a task (with its coroutine frame and wake-up future)
parked on an empty queue for every connection was memory spent on nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from babelcast.gateway.rooms.batch import DirectWriter, WriteBatch
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.framing import FRAME_KEY, WireMessage, wire_message

log = logging.getLogger("babelcast.fanout")

SendFn = Callable[[WireMessage], Awaitable[None]]
CloseFn = Callable[[int, str], Awaitable[None]]


class SendQueue:
    """A bounded FIFO of wire messages for one connection. When full, the oldest message is
    dropped so that a slow reader loses old chat rather than holding anyone up.

    It never waits: the connection's writer task pops until it is empty and exits, and a put
    starts a new one (``Connection._kick``). The deque exists only while something is queued:
    an empty deque costs ~600 bytes (its first block), and most connections are idle with an
    empty queue."""

    # One per connection: slots keep the per-connection footprint small.
    __slots__ = ("_items", "closed", "dropped", "max_frames")

    def __init__(self, max_frames: int) -> None:
        self._items: deque[WireMessage] | None = None
        self.max_frames = max_frames
        self.dropped = 0
        self.closed = False

    def __len__(self) -> int:
        items = self._items
        return 0 if items is None else len(items)

    def put(self, item: WireMessage) -> None:
        """Append without ever blocking; drops (and counts) the oldest item when full."""
        if self.closed:
            return
        items = self._items
        if items is None:
            items = self._items = deque()
        elif len(items) >= self.max_frames:
            items.popleft()
            self.dropped += 1
        items.append(item)

    def put_first(self, item: WireMessage) -> None:
        """Put ``item`` ahead of everything queued (used for ``welcome``)."""
        if self.closed:
            return
        items = self._items
        if items is None:
            items = self._items = deque()
        items.appendleft(item)
        if len(items) > self.max_frames:
            items.pop()
            self.dropped += 1

    def close(self) -> None:
        """Drop everything queued; later puts are ignored and ``pop`` returns None."""
        self.closed = True
        self._items = None

    def pop(self) -> WireMessage | None:
        """The next message without waiting; None when the queue is empty or closed."""
        items = self._items
        if items is None:
            return None
        item = items.popleft()
        if not items:
            self._items = None  # give the deque's block back while the connection is idle
        return item


_connection_ids = itertools.count(1)


@dataclass(slots=True)
class ConnectionInfo:
    """Who is on the other end of a connection."""

    room: str
    user: str
    user_id: str
    lang: str
    codec: Codec


class Connection:
    """One viewer's socket as fan-out sees it: a queue, and a writer task that drains it while
    it has something in it."""

    # One per connection: slots keep the per-connection footprint small.
    __slots__ = ("_batch", "_close", "_closer", "_send", "_started", "_writer", "closing",
                 "direct", "direct_writes", "epoch", "id", "info", "queue", "send_started",
                 "skip_through")

    def __init__(self, info: ConnectionInfo, send: SendFn, close: CloseFn,
                 queue_frames: int, direct: DirectWriter | None = None,
                 batch: WriteBatch | None = None) -> None:
        """``direct``: the socket's direct path, if the server offers one; ``batch``: joins
        its writes while the room has a backlog (None: each frame is written at once)."""
        self.id = next(_connection_ids)
        self.info = info
        self.queue = SendQueue(queue_frames)
        self.direct = direct
        self._batch = batch
        self.direct_writes = 0  # frames that skipped the queue and the writer task
        self.skip_through = 0  # live comments up to this id were already sent in history
        self.epoch = ""  # the epoch of the ids this viewer was given (set at welcome)
        self.send_started: float | None = None  # set while a send is in progress
        self.closing = False
        self._send = send
        self._close = close
        # Runs only while the queue has messages (see _kick); None when idle.
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        # Set by start_writer (after welcome is queued); cleared if a send fails, so that a
        # dead socket is not retried for every later frame (the reader notices and finishes).
        self._started = False

    @property
    def lang(self) -> str:
        return self.info.lang

    @property
    def codec(self) -> Codec:
        return self.info.codec

    @property
    def writer_running(self) -> bool:
        """Whether a writer task is draining the queue right now."""
        return self._writer is not None

    def push_frame(self, frame: dict[str, Any]) -> None:
        """Encode a frame for this connection alone (ack, error, pong) and queue it."""
        self.queue.put(wire_message(frame, self.codec))
        self._kick()

    def push(self, message: WireMessage, message_id: int = 0) -> None:
        """Send an already-encoded message: straight to the socket when nothing is queued or
        being sent and the socket takes data now, else through the queue and writer task.
        Live comments already sent in history are skipped."""
        if 0 < message_id <= self.skip_through:  # (provisional ids are negative)
            return
        direct = self.direct
        # No writer running means nothing is being sent and nothing is queued ahead of this
        # message, so writing it now keeps the order.
        if (direct is not None and self._started and self._writer is None
                and not self.queue and not self.closing and direct.ready()):
            if self._batch is not None:
                self._batch.write(direct, message[FRAME_KEY])
            else:
                direct.write(message[FRAME_KEY])
            self.direct_writes += 1
            return
        self.queue.put(message)
        self._kick()

    def start_writer(self) -> None:
        """Allow sending (call once welcome is queued): from now on a writer task runs
        whenever messages are queued, starting with what was queued before this call."""
        self._started = True
        self._kick()

    def _kick(self) -> None:
        """Start a writer task if one is allowed, none is running and something is queued."""
        if self._started and self._writer is None and not self.closing and self.queue:
            self._writer = asyncio.create_task(self._write_loop())

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self.queue
        try:
            # Exits as soon as the queue is empty; the next queued message starts a new task.
            while (message := queue.pop()) is not None:
                self.send_started = loop.time()
                await self._send(message)
                self.send_started = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away mid-send; the reader will notice
            log.debug("writer %s stopped: %r", self.id, exc)
            self._started = False
        finally:
            self.send_started = None
            # No await between the last pop() and here, so nothing can have been queued in
            # between without seeing this task as running.
            if self._writer is asyncio.current_task():
                self._writer = None

    def close(self, code: int, reason: str) -> None:
        """Stop sending and close the socket with ``code`` (idempotent, never blocks)."""
        if self.closing:
            return
        self.closing = True
        self.queue.close()
        if self._writer is not None:
            self._writer.cancel()
        self._closer = asyncio.create_task(self._close_quietly(code, reason))

    async def _close_quietly(self, code: int, reason: str) -> None:
        try:
            await self._close(code, reason)
        except Exception as exc:
            log.debug("close of %s failed: %r", self.id, exc)

    async def finish(self) -> None:
        """Stop the writer (if one is running) after the reader has seen the socket go away."""
        self.closing = True
        self.queue.close()
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        if self._closer is not None:
            # The close frame (with its code, e.g. 4429) must go out before the session ends:
            # once the app returns, the server drops the socket without one.
            await asyncio.gather(self._closer, return_exceptions=True)
