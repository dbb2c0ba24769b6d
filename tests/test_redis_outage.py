"""Redis goes away mid-stream: gateway nodes keep their viewers connected, report degraded,
retry, and once Redis is back deliver every comment accepted meanwhile, in order."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gateway.redis_bus import RedisBus
from tests.live import LiveServer, live_server
from tests.redis_server import RedisServer


@pytest.fixture
def durable_redis() -> Iterator[RedisServer]:
    server = RedisServer(durable=True).start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def ready_status(node: LiveServer) -> int:
    return node.get("/readyz").status_code


def test_comments_sent_during_an_outage_arrive_in_order_afterwards(
        durable_redis: RedisServer) -> None:
    url = durable_redis.url
    with live_server(bus=RedisBus(url)) as a, live_server(bus=RedisBus(url)) as b:
        en = a.viewer("outage", "en", "Bob")
        pt = b.viewer("outage", "pt", "Ana")
        en.comment("before", client_id="b0")
        pt.expect_comment("before")

        durable_redis.halt()
        during = ["first while down", "second while down", "third while down"]
        for n, text in enumerate(during):
            en.comment(text, client_id=f"d{n}")
        wait_until(lambda: ready_status(a) == 503)  # degraded is visible
        assert a.get("/v1/stats").json()["degraded"] is True

        durable_redis.start()
        for text in during:
            pt.expect_comment(text, timeout=30)
        got = [f["original"] for f in pt.frames if f["type"] == "comment"]
        assert got == ["before", *during]  # nothing lost, one order
        acks = [en.expect(lambda f, c=f"d{n}": f["type"] == "ack" and f["client_id"] == c)
                for n in range(len(during))]
        assert [int(x["id"]) for x in acks] == [2, 3, 4]
        wait_until(lambda: ready_status(a) == 200 and ready_status(b) == 200)
        # And the chat simply goes on.
        pt.comment("tudo certo?")
        en.expect_comment("tudo certo?")
