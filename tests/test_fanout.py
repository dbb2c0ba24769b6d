"""Send queues, language groups and the stall watchdog, without sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.fanout import (
    Connection,
    ConnectionInfo,
    LanguageGroup,
    SendQueue,
    StallWatchdog,
)
from gateway.protocol import Codec


def msg(n: int) -> dict[str, Any]:
    return {"type": "websocket.send", "text": str(n)}


def test_full_queue_drops_the_oldest_and_counts() -> None:
    q = SendQueue(3)
    for i in range(5):
        q.put(msg(i))
    assert q.dropped == 2
    assert [q._items[i]["text"] for i in range(3)] == ["2", "3", "4"]


def test_put_first_jumps_the_queue() -> None:
    q = SendQueue(3)
    q.put(msg(1))
    q.put_first(msg(0))
    assert [m["text"] for m in q._items] == ["0", "1"]


class Recorder:
    """A socket stand-in that records sends; ``block`` makes sends hang like a full socket."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: list[int] = []
        self.block = asyncio.Event()
        self.block.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.block.wait()
        self.sent.append(message)

    async def close(self, code: int, reason: str) -> None:
        self.closed.append(code)


def make_conn(rec: Recorder, codec: Codec = Codec.JSON, queue: int = 8) -> Connection:
    return Connection(ConnectionInfo("r", "u", "u-1", "en", codec), rec.send, rec.close, queue)


def test_group_encodes_once_per_codec_and_shares_the_message() -> None:
    async def run() -> None:
        recs = [Recorder() for _ in range(4)]
        conns = [make_conn(r, Codec.JSON if i < 3 else Codec.MSGPACK)
                 for i, r in enumerate(recs)]
        group = LanguageGroup("en")
        for c in conns:
            group.members[c.id] = c
            c.start_writer()
        group.broadcast({"type": "comment", "id": "1", "text": "hi"}, message_id=1)
        while any(not r.sent for r in recs):
            await asyncio.sleep(0)
        json_msgs = [r.sent[0] for r in recs[:3]]
        assert all(m is json_msgs[0] for m in json_msgs)  # the very same object
        assert isinstance(recs[3].sent[0]["bytes"], bytes)
        for c in conns:
            await c.finish()

    asyncio.run(run())


def test_live_comments_already_replayed_are_skipped() -> None:
    rec = Recorder()
    conn = make_conn(rec)
    conn.skip_through = 5
    conn.push(msg(5), message_id=5)
    conn.push(msg(6), message_id=6)
    assert [m["text"] for m in conn.queue._items] == ["6"]


def test_watchdog_closes_only_connections_whose_send_is_stuck() -> None:
    async def run() -> None:
        stuck, fine = Recorder(), Recorder()
        stuck.block.clear()
        a, b = make_conn(stuck), make_conn(fine)
        for c in (a, b):
            c.start_writer()
            c.push(msg(1))
        while a.send_started is None or not fine.sent:
            await asyncio.sleep(0)
        dog = StallWatchdog(lambda: [a, b], timeout_s=1.0, close_code=4408)
        loop = asyncio.get_running_loop()
        assert dog.check(loop.time()) == 0
        assert dog.check(loop.time() + 2.0) == 1
        await asyncio.sleep(0)
        assert stuck.closed == [4408] and fine.closed == []
        assert a.closing and not b.closing
        for c in (a, b):
            await c.finish()

    asyncio.run(run())


def test_prebuilt_frames_match_the_websockets_library_framing() -> None:
    from websockets.frames import Frame, Opcode

    from gateway.fanout import websocket_frame

    for size in (0, 125, 126, 65535, 65536, 70000):
        payload = b"x" * size
        for binary, op in ((False, Opcode.TEXT), (True, Opcode.BINARY)):
            ours = websocket_frame(payload, binary)
            theirs = Frame(op, payload).serialize(mask=False, extensions=[])
            assert ours == theirs, size


class DirectRecorder:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.writable = True

    def ready(self) -> bool:
        return self.writable

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)


def test_direct_path_only_when_nothing_is_ahead_in_the_queue() -> None:
    from gateway.fanout import wire_message

    async def run() -> None:
        rec, direct = Recorder(), DirectRecorder()
        conn = Connection(ConnectionInfo("r", "u", "u-1", "en", Codec.JSON), rec.send,
                          rec.close, 8, direct)
        first = wire_message({"n": 0}, Codec.JSON)
        conn.push(first)  # writer not started yet (welcome pending): must queue
        assert len(conn.queue) == 1 and direct.frames == []
        conn.start_writer()
        while rec.sent == []:
            await asyncio.sleep(0)
        conn.push(wire_message({"n": 1}, Codec.JSON))  # idle, writable: direct
        assert direct.frames == [b'\x81\x07{"n":1}'] and conn.direct_writes == 1
        direct.writable = False  # the socket is backed up: queue, in order
        conn.push(wire_message({"n": 2}, Codec.JSON))
        direct.writable = True
        conn.push(wire_message({"n": 3}, Codec.JSON))  # something queued ahead: queue too
        while len(rec.sent) < 3:
            await asyncio.sleep(0)
        assert [m["text"] for m in rec.sent] == ['{"n":0}', '{"n":2}', '{"n":3}']
        await conn.finish()

    asyncio.run(run())


async def until(condition: Any, limit: int = 1000) -> None:
    """Let other tasks run (no timed sleep) until ``condition()`` holds."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)  # a bare yield to the event loop
    raise AssertionError("condition never held")


def test_lazy_writer_runs_only_while_something_is_queued_and_keeps_order() -> None:
    async def run() -> None:
        rec, direct = Recorder(), DirectRecorder()
        conn = make_conn(rec)
        conn.direct = direct
        assert not conn.writer_running  # an idle connection holds no task
        conn.push(msg(1))
        conn.queue.put_first(msg(0))  # welcome, queued ahead of the live frame
        assert not conn.writer_running  # not before start_writer
        conn.start_writer()
        assert conn.writer_running
        await until(lambda: not conn.writer_running)  # drained: the task exits
        assert [m["text"] for m in rec.sent] == ["0", "1"]
        # Idle again: the next frame goes straight to the socket, no task started.
        conn.push({**msg(2), "babelcast.frame": b"f2"})
        assert direct.frames == [b"f2"] and not conn.writer_running
        # A slow socket: frames queue behind the blocked send, in order, on one writer.
        rec.block.clear()
        direct.writable = False
        conn.push(msg(3))
        writer = conn._writer
        assert writer is not None
        await until(lambda: conn.send_started is not None)
        direct.writable = True
        conn.push(msg(4))  # a send is in flight: must queue, not go direct
        conn.push_frame({"type": "pong", "client_id": None})
        assert conn._writer is writer  # the running writer takes them; no second task
        assert direct.frames == [b"f2"]
        rec.block.set()
        await until(lambda: not conn.writer_running)
        assert [m["text"] for m in rec.sent] == [
            "0", "1", "3", "4", '{"type":"pong","client_id":null}']
        assert writer.done()
        await conn.finish()
        conn.push(msg(5))  # finished: nothing is started again
        assert not conn.writer_running

    asyncio.run(run())


def test_watchdog_closes_a_stalled_lazy_writer_and_an_idle_one_is_never_closed() -> None:
    async def run() -> None:
        stuck, idle = Recorder(), Recorder()
        stuck.block.clear()
        a, b = make_conn(stuck), make_conn(idle)
        for c in (a, b):
            c.start_writer()
        a.push(msg(1))  # b gets nothing: no writer, nothing in flight
        await until(lambda: a.send_started is not None)
        assert a.writer_running and not b.writer_running
        dog = StallWatchdog(lambda: [a, b], timeout_s=1.0, close_code=4408)
        now = asyncio.get_running_loop().time()
        assert dog.check(now) == 0
        assert dog.check(now + 2.0) == 1
        await until(lambda: stuck.closed == [4408] and not a.writer_running)
        assert idle.closed == [] and a.closing and not b.closing
        a.push(msg(2))  # closing: no new writer, nothing queued
        assert not a.writer_running and len(a.queue) == 0
        for c in (a, b):
            await c.finish()

    asyncio.run(run())


def test_a_failed_send_stops_the_writer_for_good() -> None:
    async def run() -> None:
        sent: list[dict[str, Any]] = []

        async def broken_send(message: dict[str, Any]) -> None:
            sent.append(message)
            raise RuntimeError("peer went away")

        async def close(code: int, reason: str) -> None:
            pass

        conn = Connection(ConnectionInfo("r", "u", "u-1", "en", Codec.JSON), broken_send,
                          close, 8)
        conn.start_writer()
        conn.push(msg(1))
        await until(lambda: not conn.writer_running)
        conn.push(msg(2))  # not retried on a dead socket; the reader will finish it
        assert not conn.writer_running and len(sent) == 1
        await conn.finish()

    asyncio.run(run())
