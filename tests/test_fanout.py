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
