"""A real gateway on a real socket, and WebSocket viewers that talk to it, for the tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import msgpack
import uvicorn
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from babelcast.gateway.cli import websocket_options
from babelcast.gateway.node import create_app
from babelcast.gateway.settings import Settings

Frame = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving ``create_app(settings)`` on a free loopback port, in a thread."""

    def __init__(self, settings: Settings, engines: list[Any] | None = None,
                 backend: Any = None) -> None:
        self.port = free_port()
        self.settings = settings.replace(port=self.port)
        self.app = create_app(self.settings, engines=engines, backend=backend)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                **websocket_options(self.settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def gateway(self) -> Any:
        return self.app.state.gateway

    def start(self, timeout: float = 30.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.http + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.http + path, timeout=30, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.put(self.http + path, timeout=30, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.delete(self.http + path, timeout=30, **kw)

    def viewer(self, room: str, lang: str = "en", name: str = "v", *, msgpack_codec: bool = False,
               since: str | None = None, query: str | None = None) -> Viewer:
        q = query if query is not None else f"lang={lang}&name={name}"
        if since is not None:
            q += f"&since={since}"
        url = f"ws://127.0.0.1:{self.port}/v1/rooms/{room}/ws?{q}"
        protos = ["babelcast.v1.msgpack"] if msgpack_codec else None
        ws = connect(url, subprotocols=protos, open_timeout=10,  # type: ignore[arg-type]
                     max_size=None, legacy=True)
        return Viewer(ws, msgpack_codec)


    def refused(self, room: str, query: str = "", **connect_kw: Any) -> tuple[int, Frame]:
        """Open a WebSocket that the server must refuse at the handshake (before accepting):
        the HTTP status and the ``error`` object of the JSON body."""
        url = f"ws://127.0.0.1:{self.port}/v1/rooms/{room}/ws?{query}"
        try:
            ws = connect(url, open_timeout=10, **connect_kw)
        except InvalidStatus as exc:
            return exc.response.status_code, json.loads(exc.response.body or b"{}")["error"]
        ws.close()
        raise AssertionError(f"the handshake of {url} was accepted")


@contextmanager
def live_server(engines: list[Any] | None = None, backend: Any = None,
                **settings: Any) -> Iterator[LiveServer]:
    """A started ``LiveServer``; ``engines`` replaces the real models (failure tests only),
    ``backend`` the default memory backend (bus, presence, room state)."""
    server = LiveServer(Settings(**settings), engines, backend).start()
    try:
        yield server
    finally:
        server.stop()


class ServeProcess:
    """``python -m gateway serve`` in a subprocess, as a user (or an orchestrator) runs it."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        full_env = {**os.environ, "BABELCAST_LOG_LEVEL": "warning", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "babelcast.gateway", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), *args],
            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> ServeProcess:
        """Poll /readyz until 200; fail with the process output if it exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                raise AssertionError(f"babelcast serve exited ({self.proc.returncode}): {out}")
            try:
                if httpx.get(self.http + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("babelcast serve did not become ready")
            time.sleep(0.05)

    def viewer(self, room: str, lang: str, name: str = "v", *, since: str | None = None,
               epoch: str | None = None) -> Viewer:
        """A viewer connected to this process (resuming after ``since`` when given)."""
        url = f"ws://127.0.0.1:{self.port}/v1/rooms/{room}/ws?lang={lang}&name={name}"
        if since is not None:
            url += f"&since={since}" + (f"&epoch={epoch}" if epoch else "")
        return Viewer(connect(url, open_timeout=10, max_size=None, legacy=True), False)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to clean up."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def wait_exit(self, timeout: float = 60.0) -> str:
        """Wait for the process to exit by itself; returns everything it printed."""
        out, _ = self.proc.communicate(timeout=timeout)
        return out

    def stop(self) -> str:
        """SIGTERM and wait; returns everything the process printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return out


class Viewer:
    """A WebSocket client that keeps every frame it reads, so tests can look back."""

    def __init__(self, ws: ClientConnection, msgpack_codec: bool) -> None:
        self.ws = ws
        self.msgpack = msgpack_codec
        self.frames: list[Frame] = []  # every frame received, in order
        self._unmatched: list[Frame] = []  # received but not yet returned by expect()
        self.welcome = self.expect(lambda f: f["type"] == "welcome")

    def send(self, frame: Frame) -> None:
        self.ws.send(msgpack.packb(frame) if self.msgpack else json.dumps(frame))

    def send_raw(self, data: str | bytes) -> None:
        self.ws.send(data)

    def comment(self, text: str, client_id: str | None = None) -> None:
        self.send({"type": "comment", "text": text, "client_id": client_id})

    def recv(self, timeout: float = 10.0) -> Frame:
        data = self.ws.recv(timeout=timeout)
        if self.msgpack:
            assert isinstance(data, bytes), "msgpack connections get binary frames"
            frame = msgpack.unpackb(data)
        else:
            assert isinstance(data, str), "JSON connections get text frames"
            frame = json.loads(data)
        self.frames.append(frame)
        self._unmatched.append(frame)
        return frame

    def expect(self, pred: Callable[[Frame], bool], timeout: float = 20.0) -> Frame:
        """The first frame not yet returned by ``expect`` that matches ``pred``, reading more
        frames as needed (frames read on the way stay available to later calls)."""
        for i, frame in enumerate(self._unmatched):
            if pred(frame):
                return self._unmatched.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames}")
            frame = self.recv(timeout=left)
            if pred(frame):
                self._unmatched.pop()
                return frame

    def expect_comment(self, text_or_id: str, timeout: float = 20.0) -> Frame:
        """The next comment whose original text (or id) is ``text_or_id``."""
        return self.expect(lambda f: f["type"] == "comment"
                           and text_or_id in (f["original"], f["id"]), timeout)

    def expect_final(self, text: str, timeout: float = 20.0) -> Frame:
        """The comment with original ``text`` as the viewer ends up showing it: when it came
        ``pending``, merged with the ``translation`` frame that completes it."""
        got = self.expect_comment(text, timeout)
        if got["pending"]:
            done = self.expect(lambda f: f["type"] == "translation" and f["id"] == got["id"],
                               timeout)
            got = got | {k: done[k] for k in ("text", "translated", "reason")} | {
                "pending": False}
        return got

    def expect_error(self, timeout: float = 10.0) -> Frame:
        """The next ``error`` frame."""
        return self.expect(lambda f: f["type"] == "error", timeout)

    def close(self) -> None:
        self.ws.close()


def exhaust_rate_limit(v: Viewer, burst: int) -> None:
    """Spend a user's ``burst`` frames (pings), then see the next one rate-limited."""
    for i in range(burst):
        v.send({"type": "ping", "client_id": f"p{i}"})
        v.expect(lambda f, i=i: f["type"] == "pong" and f["client_id"] == f"p{i}")
    v.send({"type": "ping", "client_id": "over"})
    assert v.expect_error()["code"] == "rate_limited"
