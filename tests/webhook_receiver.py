"""A real HTTP endpoint for webhook tests: a ThreadingHTTPServer on a loopback port that
records every POST, and can answer 500 a number of times or hang until released."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as it arrived: its headers (lower-cased names) and raw body."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records every POST; the first ``fail`` answers are 500; while ``hang`` is set, each
    request waits (up to 30 s) for ``release``."""

    def __init__(self, port: int = 0, *, fail: int = 0, hang: bool = False) -> None:
        self.received: list[Received] = []
        self.attempts = 0
        self.fail = fail
        self.hang = hang
        self.released = threading.Event()
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._cond:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail
                    receiver._cond.notify_all()
                if receiver.hang:
                    receiver.released.wait(30)
                status = 500 if failing else 204
                if not failing:
                    with receiver._cond:
                        receiver.received.append(Received(
                            {k.lower(): v for k, v in self.headers.items()}, body))
                        receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self, room: str) -> list[Any]:
        """The payloads received so far about ``room``, in arrival order."""
        with self._cond:
            return [r.json for r in self.received if r.json["data"]["room"] == room]

    def wait_for(self, room: str, count: int, timeout: float = 20.0) -> list[Received]:
        """The first ``count`` requests about ``room``, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in self.received if r.json["data"]["room"] == room]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(got)} of {count} webhooks for {room} arrived: "
                                         f"{[r.json['type'] for r in got]}")
                self._cond.wait(left)

    def wait_attempts(self, count: int, timeout: float = 20.0) -> None:
        """Until ``count`` requests have come in (answered or not)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.attempts < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.attempts} of {count} requests arrived")
                self._cond.wait(left)
