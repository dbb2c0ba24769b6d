"""Fault injection with the real parts: an engine that raises, an engine that hangs,
and 1,000 viewers connecting at once. Every case counts what each viewer received: nothing
accepted is lost, nothing arrives twice.

One gateway serves the whole module. Its engine is the real embedded en<->pt engine behind a
switch (``FaultyEngine``): the real model cannot be made to fail on demand. The other faults
(Redis stopping, a translator process killed, a viewer that never reads) have their tests
elsewhere; docs/fault-injection.md lists them all."""

from __future__ import annotations

import asyncio
import json
import resource
import threading
from collections.abc import Iterator

import pytest

from babelcast.translation import EmbeddedEngine, EngineError
from tests.harness import LiveServer, Viewer, live_server

THOUSAND = 1000


class FaultyEngine:
    """The real embedded engine with a switch: ``ok`` translates, ``raise`` fails every batch
    (as a crashed GPU kernel would), ``hang`` blocks every batch until ``release``."""

    def __init__(self) -> None:
        self.inner = EmbeddedEngine()
        self.name = self.inner.name
        self.mode = "ok"
        self.hung = threading.Event()  # a batch is blocked in the engine right now
        self._gate = threading.Event()

    def pairs(self) -> list[tuple[str, str]]:
        return self.inner.pairs()

    def supports(self, src: str, tgt: str) -> bool:
        return self.inner.supports(src, tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        if self.mode == "raise":
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        if self.mode == "hang":
            self.hung.set()
            if not self._gate.wait(60):
                raise EngineError("the test never released the hanging engine")
        return self.inner.translate_batch(texts, src, tgt)

    def hang(self) -> None:
        self._gate.clear()
        self.hung.clear()
        self.mode = "hang"

    def release(self) -> None:
        self.mode = "ok"
        self._gate.set()


@pytest.fixture(scope="module")
def faulty() -> Iterator[tuple[LiveServer, FaultyEngine]]:
    engine = FaultyEngine()
    # A translation timeout far beyond the test's steps: "released in time" is not a race.
    with live_server(engines=[engine], translation_wait_ms=100, translation_timeout_ms=30_000,
                     rate_limit_per_s=100.0, rate_limit_burst=100) as srv:
        try:
            yield srv, engine
        finally:
            engine.release()


def comments(viewer: Viewer) -> list[dict]:
    return [f for f in viewer.frames if f["type"] == "comment"]


def send_all(sender: Viewer, texts: list[str]) -> list[str]:
    """Send ``texts`` and return the ids their acks assigned (every comment accepted)."""
    for n, text in enumerate(texts):
        sender.comment(text, client_id=f"f{n}")
    return [sender.expect(lambda f, c=f"f{n}": f["type"] == "ack" and f["client_id"] == c)["id"]
            for n in range(len(texts))]


def test_an_engine_that_raises_costs_translations_never_comments(
        faulty: tuple[LiveServer, FaultyEngine]) -> None:
    srv, engine = faulty
    engine.mode = "raise"
    texts = [f"Does the {color} one come in size M?" for color in
             ("red", "blue", "green", "black", "white", "pink")]
    rooms = {}
    for room in ("raise-1", "raise-2"):
        sender = srv.viewer(room, "en", "Bob")
        readers = [srv.viewer(room, "pt", "Ana"), srv.viewer(room, "pt", "Rui")]
        rooms[room] = (sender, readers, srv.viewer(room, "en", "Kim"))
    ids = {room: send_all(sender, texts) for room, (sender, _r, _e) in rooms.items()}

    for room, (_sender, readers, same_lang) in rooms.items():
        for reader in readers:
            finals = [reader.expect_final(text) for text in texts]
            # Every comment, once, in order, as the original marked with the reason.
            assert [f["id"] for f in finals] == ids[room]
            assert all(f["text"] == f["original"] and f["translated"] is False
                       and f["reason"] == "engine_error" for f in finals)
            assert len(comments(reader)) == len(texts)
        got = [same_lang.expect_comment(text) for text in texts]
        assert [f["id"] for f in got] == ids[room] and len(comments(same_lang)) == len(texts)
    assert srv.get("/v1/stats").json()["translation"]["errors"] >= 1

    engine.mode = "ok"  # the engine recovers: so does translation
    sender, readers, _ = rooms["raise-1"]
    sender.comment("I love this lipstick")
    for reader in readers:
        got = reader.expect_final("I love this lipstick")
        assert got["translated"] is True and "batom" in got["text"].lower()


def test_a_hanging_engine_delays_translations_never_comments(
        faulty: tuple[LiveServer, FaultyEngine]) -> None:
    srv, engine = faulty
    engine.hang()
    en_pt = (srv.viewer("hang-1", "en", "Bob"), srv.viewer("hang-1", "pt", "Ana"))
    pt_en = (srv.viewer("hang-2", "pt", "Rui"), srv.viewer("hang-2", "en", "Kim"))
    one_lang = (srv.viewer("hang-3", "en", "Joe"), srv.viewer("hang-3", "en", "Sue"))
    texts = {"hang-1": ["Is it waterproof?", "How long does shipping take?",
                        "Is this the last one?"],
             "hang-2": ["tem frete grátis?", "qual o tamanho dela?", "quanto custa o azul?"],
             "hang-3": ["first in a quiet room", "second in a quiet room",
                        "third in a quiet room"]}
    ids = {}
    for room, (sender, _reader) in (("hang-1", en_pt), ("hang-2", pt_en), ("hang-3", one_lang)):
        ids[room] = send_all(sender, texts[room])
    assert engine.hung.wait(10)  # a batch is stuck inside the engine

    # Every comment reached every reader while the engine hung: the originals, marked
    # pending where a translation is owed, not pending where none is.
    pending = {}
    for room, (_sender, reader) in (("hang-1", en_pt), ("hang-2", pt_en)):
        got = [reader.expect_comment(text) for text in texts[room]]
        assert [f["id"] for f in got] == ids[room]
        assert all(f["pending"] is True and f["text"] == f["original"] for f in got)
        pending[room] = got
    quiet = [one_lang[1].expect_comment(text) for text in texts["hang-3"]]
    assert [f["id"] for f in quiet] == ids["hang-3"]
    assert all(f["pending"] is False for f in quiet)
    assert engine.hung.is_set()  # all of that while the engine was still stuck

    engine.release()
    for room, (_sender, reader) in (("hang-1", en_pt), ("hang-2", pt_en)):
        done = [reader.expect(lambda f, i=f["id"]: f["type"] == "translation" and f["id"] == i)
                for f in pending[room]]
        assert all(t["translated"] is True and t["reason"] is None for t in done)
        # Counted: one comment and one translation per accepted comment, nothing more.
        assert len(comments(reader)) == len(texts[room])
        assert sum(f["type"] == "translation" for f in reader.frames) == len(texts[room])


def test_a_thousand_viewers_connecting_at_once_all_get_welcome_and_the_next_comment(
        faulty: tuple[LiveServer, FaultyEngine]) -> None:
    srv, _engine = faulty
    # Both ends of every connection live in this process: 2,000 descriptors and then some.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * THOUSAND + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.fail(f"RLIMIT_NOFILE hard limit {hard} < {wanted}: raise it (ulimit -Hn)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    url = f"ws://127.0.0.1:{srv.port}/v1/rooms/crowd/ws?lang=en&name=guest"

    async def run() -> list[dict]:
        from websockets.asyncio.client import connect

        async def join() -> tuple[object, dict]:
            ws = await connect(url, open_timeout=60, max_size=None)
            return ws, json.loads(await asyncio.wait_for(ws.recv(), 60))

        async def next_comment(ws: object) -> dict:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))  # type: ignore[attr-defined]
                if frame["type"] == "comment":
                    return frame

        joined = await asyncio.gather(*(join() for _ in range(THOUSAND)))
        try:
            welcomes = [w for _ws, w in joined]
            assert [w["type"] for w in welcomes] == ["welcome"] * THOUSAND
            assert len({w["you"]["user_id"] for w in welcomes}) == THOUSAND
            sockets = [ws for ws, _w in joined]
            await sockets[0].send(json.dumps({"type": "comment", "text": "hello crowd"}))  # type: ignore[attr-defined]
            return await asyncio.gather(*(next_comment(ws) for ws in sockets))
        finally:
            await asyncio.gather(*(ws.close() for ws, _w in joined),  # type: ignore[attr-defined]
                                 return_exceptions=True)

    got = asyncio.run(run())
    assert len(got) == THOUSAND
    assert {(f["original"], f["id"]) for f in got} == {("hello crowd", got[0]["id"])}
    stats = srv.get("/v1/rooms/crowd").json()
    assert stats["messages"] == 1
