"""Send queues, language groups and the stall watchdog, without sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from babelcast.gateway.rooms.batch import WriteBatch
from babelcast.gateway.rooms.connection import Connection, ConnectionInfo, SendQueue
from babelcast.gateway.rooms.groups import LanguageGroup
from babelcast.gateway.rooms.watchdog import StallWatchdog
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.framing import websocket_frame, wire_message


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

    for size in (0, 125, 126, 65535, 65536, 70000):
        payload = b"x" * size
        for binary, op in ((False, Opcode.TEXT), (True, Opcode.BINARY)):
            ours = websocket_frame(payload, binary)
            theirs = Frame(op, payload).serialize(mask=False, extensions=[])
            assert ours == theirs, size


class DirectRecorder:
    def __init__(self, wire: list[bytes] | None = None) -> None:
        self.frames: list[bytes] = []
        self.writable = True
        self.gone = False
        self.pending = b""
        self.wire = wire  # a log shared with the ASGI path, to check the order on the wire

    def ready(self) -> bool:
        return self.writable and not self.gone

    def closed(self) -> bool:
        return self.gone

    def stalled_for(self, now: float) -> float:
        return 0.0

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)
        if self.wire is not None:
            self.wire.append(frame)


def test_write_batch_joins_a_viewers_frames_only_while_joining() -> None:

    async def run() -> None:
        batch = WriteBatch()
        a, b, gone = DirectRecorder(), DirectRecorder(), DirectRecorder()
        batch.write(a, b"a0")  # no backlog: written at once
        assert a.frames == [b"a0"]
        batch.joining = True  # the room has more events behind this one
        batch.write(a, b"a1")
        batch.write(b, b"b1")
        batch.write(gone, b"g1")
        batch.joining = False  # the last event of the run: joins what is pending
        batch.write(a, b"a2")
        batch.write(a, b"a3")
        assert a.frames == [b"a0"] and b.frames == []  # nothing before the flush
        gone.gone = True  # left meanwhile: nothing is written to it
        await asyncio.sleep(0)
        assert a.frames == [b"a0", b"a1a2a3"] and b.frames == [b"b1"] and gone.frames == []
        assert batch.joined == 2
        batch.write(a, b"a4")  # nothing pending, no backlog: at once again
        assert a.frames == [b"a0", b"a1a2a3", b"a4"] and batch.joined == 2

    asyncio.run(run())


def test_batched_frames_keep_their_order_with_the_queued_path() -> None:
    """A frame batched before an ack (which goes through the queue and a writer task) reaches
    the wire before it; a closing connection batches nothing."""

    async def run() -> None:
        wire: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            wire.append(message["text"].encode())

        async def close(code: int, reason: str) -> None:
            wire.append(b"close")

        batch = WriteBatch()
        direct = DirectRecorder(wire)
        conn = Connection(ConnectionInfo("r", "u", "u-1", "en", Codec.JSON), send, close, 8,
                          direct, batch)
        conn.start_writer()
        batch.joining = True
        conn.push(wire_message({"n": 1}, Codec.JSON))
        batch.joining = False
        conn.push_frame({"n": "ack"})  # queued: starts a writer task
        conn.push(wire_message({"n": 2}, Codec.JSON))  # behind the queued ack
        await until(lambda: len(wire) == 3)
        assert wire == [b'\x81\x07{"n":1}', b'{"n":"ack"}', b'{"n":2}']
        await until(lambda: not conn.writer_running)
        batch.joining = True
        conn.push(wire_message({"n": 3}, Codec.JSON))
        batch.joining = False
        conn.close(1000, "bye")
        conn.push(wire_message({"n": 4}, Codec.JSON))  # closing: not sent at all
        await until(lambda: len(wire) == 5)
        assert wire[3:] == [b'\x81\x07{"n":3}', b"close"]
        assert conn.direct_writes == 2

    asyncio.run(run())


def test_direct_path_only_when_nothing_is_ahead_in_the_queue() -> None:

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


def split_frames(data: bytes) -> list[bytes]:
    """The payloads of the unmasked server text frames in ``data`` (under 64 KiB each)."""
    out = []
    while data:
        assert data[0] == 0x81 and data[1] <= 126, data[:2]
        start, size = (4, int.from_bytes(data[2:4], "big")) if data[1] == 126 else (2, data[1])
        out.append(data[start:start + size])
        data = data[start + size:]
    return out


class SameLanguageTracker:
    """The part of TranslationTracker a room asks: everyone here reads the comments'
    language."""

    def request(self, msg: Any, lang: str) -> bool:
        return False


def test_a_room_behind_on_events_sends_each_viewer_one_write_for_all_of_them() -> None:
    from babelcast.gateway.bus.base import CommentDraft
    from babelcast.gateway.bus.memory import MemoryBus, MemoryPresence
    from babelcast.gateway.rooms.room import LocalRoom, RoomDeps

    async def run() -> None:
        bus, batch = MemoryBus(), WriteBatch()
        deps = RoomDeps(bus, MemoryPresence(), SameLanguageTracker(), hold_s=1.0,  # type: ignore[arg-type]
                        presence_interval_s=60.0, write_batch=batch)
        room = LocalRoom("r", deps, await bus.subscribe("r"))
        rec, viewers = Recorder(), []
        for i in range(3):
            direct = DirectRecorder()
            conn = Connection(ConnectionInfo("r", f"u{i}", f"u-{i}", "en", Codec.JSON),
                              rec.send, rec.close, 8, direct, batch)
            conn.start_writer()
            await room.join(conn)
            viewers.append(direct)

        def comment_writes(direct: DirectRecorder) -> list[list[bytes]]:
            writes = [split_frames(w) for w in direct.frames]
            return [w for w in writes if any(b'"type":"comment"' in f for f in w)]

        # Published back to back: the room's dispatcher finds them queued together.
        for n in range(3):
            await bus.publish_comment(CommentDraft("r", "a", "u-a", f"c{n}", "en", {}))
        await until(lambda: all(comment_writes(v) for v in viewers))
        for direct in viewers:
            (write,) = comment_writes(direct)  # one send() for the three comments
            assert [f.count(b'"text":"c%d"' % n) for n, f in enumerate(write)] == [1, 1, 1]
        assert batch.joined == 6
        # A comment on its own: written at once, in a write of its own.
        await bus.publish_comment(CommentDraft("r", "a", "u-a", "c3", "en", {}))
        await until(lambda: all(len(comment_writes(v)) == 2 for v in viewers))
        assert all(len(comment_writes(v)[1]) == 1 for v in viewers) and batch.joined == 6
        await room.close()

    asyncio.run(run())
