"""The WebSocket session with a fake socket and fake parts: handshake, welcome, the frames a
viewer sends, what it gets back, and what the session counts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from babelcast.gateway.bus.memory import MemoryBus, MemoryPresence, MemoryRoomState
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.limits.admission import ConnectionAdmission
from babelcast.gateway.limits.memory import MemoryRateLimiter
from babelcast.gateway.rooms.room import RoomDeps, RoomRegistry
from babelcast.gateway.stores.memory import MemoryGlossaryStore, MemoryRoomSettingsStore
from babelcast.gateway.web.session import SessionConfig, SessionDeps, run_session
from babelcast.gateway.wire import codes
from babelcast.glossary import Glossary
from babelcast.langid import Detection
from babelcast.translation import Translation

Frame = dict[str, Any]


class FakeWebSocket:
    """What the session uses of Starlette's WebSocket: frames in through ``feed``, frames out
    decoded into ``out``."""

    def __init__(self, room: str, query: dict[str, str]) -> None:
        self.scope: dict[str, Any] = {"subprotocols": [], "extensions": {}}
        self.path_params = {"room": room}
        self.query_params = query
        self.headers: dict[str, str] = {}
        self.client = SimpleNamespace(host="192.0.2.7")
        self.accepted = False
        self.closed: tuple[int, str] | None = None
        self.out: asyncio.Queue[Frame] = asyncio.Queue()
        self._in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def accept(self, subprotocol: str | None = None) -> None:
        self.accepted = True

    async def send(self, message: dict[str, Any]) -> None:
        await self.out.put(json.loads(message["text"]))

    async def receive(self) -> dict[str, Any]:
        return await self._in.get()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)

    def feed(self, frame: Frame | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        self._in.put_nowait({"type": "websocket.receive", "text": text})

    def disconnect(self) -> None:
        self._in.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async def next(self) -> Frame:
        """The next frame sent, presence updates left out (they come when they are due)."""
        while True:
            frame = await asyncio.wait_for(self.out.get(), 5)
            if frame["type"] != "presence":
                return frame


class FakeDetector:
    def detect(self, text: str, declared: str | None = None,
               candidates: Any = None) -> Detection:
        return Detection("pt", 0.9, "model")


class FakeTranslator:
    async def translate_one(self, text: str, src: str, tgt: str,
                            glossary: Glossary | None = None, *,
                            normalise: bool = True) -> Translation:
        return Translation(tgt, f"[{tgt}] {text}", True)

    def covers(self, src: str, tgt: str) -> bool:
        return True


def make_deps(**config: Any) -> SessionDeps:
    bus, presence = MemoryBus(), MemoryPresence()
    glossaries, room_settings = MemoryGlossaryStore(), MemoryRoomSettingsStore()
    tracker = TranslationTracker(FakeTranslator(), bus, glossaries, room_settings)
    pipeline = CommentPipeline(FakeDetector(), FakeTranslator(), bus, presence, glossaries,
                               room_settings, tracker, wait_s=0.0)
    rooms = RoomRegistry(RoomDeps(bus, presence, tracker, hold_s=0.0,
                                  presence_interval_s=60.0))
    return SessionDeps(SessionConfig(**config), bus, presence, MemoryRoomState(bus), rooms,
                       pipeline, tracker,
                       ConnectionAdmission([], 0, 0, 0), MemoryRateLimiter(100.0, 100),
                       tokens=None)


def session_test(body: Callable[[SessionDeps, FakeWebSocket, asyncio.Task[None]],
                                 Awaitable[None]],
                 query: dict[str, str] | None = None, **config: Any) -> SessionDeps:
    """Run a session on a fake socket while ``body`` talks to it; returns the deps."""
    deps = make_deps(**config)

    async def go() -> None:
        ws = FakeWebSocket("r", query if query is not None else {"lang": "en", "name": "ana"})
        task = asyncio.create_task(run_session(deps, ws))
        await body(deps, ws, task)
        ws.disconnect()
        await asyncio.wait_for(task, 5)

    asyncio.run(go())
    return deps


def test_welcome_comes_first_then_a_ping_gets_its_pong() -> None:
    async def body(deps: SessionDeps, ws: FakeWebSocket, task: asyncio.Task[None]) -> None:
        welcome = await ws.next()
        assert welcome["type"] == "welcome" and welcome["room"] == "r"
        assert welcome["you"]["name"] == "ana" and welcome["you"]["lang"] == "en"
        assert welcome["presence"]["viewers"] == {"en": 1}
        ws.feed({"type": "ping", "client_id": "p1"})
        assert await ws.next() == {"type": "pong", "client_id": "p1"}

    session_test(body)


def test_a_comment_is_acked_with_its_id_and_language_and_published() -> None:
    async def body(deps: SessionDeps, ws: FakeWebSocket, task: asyncio.Task[None]) -> None:
        await ws.next()  # welcome
        ws.feed({"type": "comment", "text": "olá", "client_id": "c1"})
        frames = [await ws.next(), await ws.next()]
        ack = next(f for f in frames if f["type"] == "ack")
        assert ack["client_id"] == "c1" and ack["src_lang"] == "pt"
        comment = next(f for f in frames if f["type"] == "comment")
        assert comment["id"] == ack["id"] and comment["text"] == "[en] olá"
        messages, _ = await deps.bus.history("r")
        assert [(m.text, m.user) for m in messages] == [("olá", "ana")]

    session_test(body)


def test_bad_frames_get_an_error_and_are_counted_by_the_session() -> None:
    async def body(deps: SessionDeps, ws: FakeWebSocket, task: asyncio.Task[None]) -> None:
        await ws.next()
        ws.feed("not json")
        assert (await ws.next())["code"] == codes.INVALID_FRAME
        ws.feed({"type": "delete", "id": "1", "client_id": "d1"})  # a viewer is no host
        error = await ws.next()
        assert (error["code"], error["client_id"]) == (codes.FORBIDDEN, "d1")
        assert deps.counters.bad_frames == 2 and deps.counters.rate_limited == 0

    session_test(body)


def test_frames_over_the_rate_limit_are_refused_and_counted() -> None:
    def deps_with_limit(**config: Any) -> SessionDeps:
        deps = make_deps(**config)
        return SessionDeps(deps.config, deps.bus, deps.presence, deps.room_state, deps.rooms,
                           deps.pipeline,
                           deps.translations, deps.admission, MemoryRateLimiter(0.001, 1),
                           tokens=None)

    async def go() -> SessionDeps:
        deps = deps_with_limit(rate_limit_strikes=5)
        ws = FakeWebSocket("r", {"lang": "en"})
        task = asyncio.create_task(run_session(deps, ws))
        await ws.next()
        ws.feed({"type": "ping", "client_id": "a"})
        ws.feed({"type": "ping", "client_id": "b"})
        assert await ws.next() == {"type": "pong", "client_id": "a"}
        refused = await ws.next()
        assert (refused["code"], refused["client_id"]) == (codes.RATE_LIMITED, "b")
        ws.disconnect()
        await asyncio.wait_for(task, 5)
        return deps

    deps = asyncio.run(go())
    assert deps.counters.rate_limited == 1 and deps.counters.bad_frames == 0


def test_a_bad_handshake_is_answered_with_an_error_and_a_close() -> None:
    async def body(deps: SessionDeps, ws: FakeWebSocket, task: asyncio.Task[None]) -> None:
        await asyncio.wait_for(task, 5)
        error = await ws.next()
        assert error["type"] == "error" and error["code"] == codes.FORBIDDEN
        assert ws.closed is not None and ws.closed[0] == codes.CLOSE_BAD_HANDSHAKE
        assert deps.rooms.rooms == {}  # never joined

    # role=host without a configured host key
    session_test(body, query={"lang": "en", "role": "host", "host_key": "x"})


def test_leaving_releases_the_room_and_the_address() -> None:
    async def body(deps: SessionDeps, ws: FakeWebSocket, task: asyncio.Task[None]) -> None:
        await ws.next()
        assert len(deps.rooms.rooms["r"]) == 1
        assert deps.admission._open == {"192.0.2.7": 1}

    deps = session_test(body)
    assert deps.rooms.rooms == {} and deps.admission._open == {}
    assert deps.rooms.totals().connections == 0
