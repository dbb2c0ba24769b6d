#!/usr/bin/env python
"""Memory per idle connection (target: < 30 KB with 5,000 idle connections).

Starts ``babelcast serve`` (embedded default, or ``--server-arg`` flags), opens a few warm-up
connections and closes them (so that lazily built state is not counted), reads the gateway's
RSS, then opens ``--connections`` WebSocket connections from this process (asyncio raw sockets:
a hand-written upgrade, then each connection only drains what it is sent: the ``welcome`` and
``presence`` frames) and reads the RSS again at each step once the count has settled.
Per-connection memory = (RSS at the step - RSS before) / connections.

    python benchmarks/idle_memory.py                         # 1000, 2000, 5000 connections
    python benchmarks/idle_memory.py --steps 500 --rooms 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _wsload import FrameReader, client_frame
from e2e import GatewayProcess, http_get, machine


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class IdleViewer:
    """One connection that completes the handshake and then only reads: it answers the
    server's pings (as a browser does; uvicorn closes peers that do not after 20 + 20 s) and
    drops every other frame."""

    def __init__(self, port: int, room: str, name: str) -> None:
        self.port, self.room, self.name = port, room, name
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.welcomed = asyncio.Event()

    async def connect(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /v1/rooms/{self.room}/ws?lang=en&name={self.name} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
            raise RuntimeError(f"upgrade refused: {head[:200]!r}")
        self.writer = writer
        self.task = asyncio.create_task(self._drain(reader))

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        frames = FrameReader()
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for op, payload in frames.feed(data):
                if op == 9 and self.writer is not None:
                    self.writer.write(client_frame(payload, 0xA))
                elif op == 1 and payload.startswith(b'{"type":"welcome"'):
                    self.welcomed.set()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


async def open_viewers(port: int, n: int, rooms: int, start: int,
                       batch: int = 200) -> list[IdleViewer]:
    viewers = [IdleViewer(port, f"idle{(start + i) % rooms}", f"v{start + i}")
               for i in range(n)]
    for i in range(0, n, batch):  # a burst of 5000 handshakes at once overflows the backlog
        await asyncio.gather(*(v.connect() for v in viewers[i:i + batch]))
    await asyncio.wait_for(asyncio.gather(*(v.welcomed.wait() for v in viewers)), 120)
    return viewers


# Lets this script ask the gateway for a full garbage collection (SIGUSR1) before reading
# RSS: connection set-up leaves cyclic garbage that an idle process would keep until its next
# full collection, which only allocation triggers.
GC_ON_SIGUSR1 = "import gc, signal\nsignal.signal(signal.SIGUSR1, lambda *_: gc.collect())"


async def settle_rss(pid: int, seconds: float = 3.0) -> tuple[int, int]:
    """RSS once it has stopped moving (presence frames and freed buffers settle), then RSS
    after a full garbage collection in the gateway."""
    await asyncio.sleep(seconds)
    before = rss_bytes(pid)
    os.kill(pid, signal.SIGUSR1)
    await asyncio.sleep(1.0)
    return before, rss_bytes(pid)


async def measure(port: int, pid: int, steps: list[int], rooms: int) -> list[dict[str, float]]:
    warm = await open_viewers(port, 50, rooms, 10**6)
    await asyncio.gather(*(v.close() for v in warm))
    base, base_gc = await settle_rss(pid)
    print(f"gateway RSS with no connections (after 50 warm-up ones): {base / 2**20:.1f} MiB, "
          f"{base_gc / 2**20:.1f} MiB after a full GC")
    rows = []
    viewers: list[IdleViewer] = []
    for target in steps:
        started = time.monotonic()
        viewers += await open_viewers(port, target - len(viewers), rooms, len(viewers))
        connect_s = time.monotonic() - started
        rss, rss_gc = await settle_rss(pid)
        server_count = json.loads(http_get(f"http://127.0.0.1:{port}/v1/stats")[1])
        if server_count["connections"] != target:
            raise RuntimeError(f"the gateway counts {server_count['connections']} connections, "
                               f"not {target}: see its log")
        row = {"connections": target, "rss_mb": rss / 2**20, "delta_mb": (rss - base) / 2**20,
               "per_connection_kb": (rss - base) / target / 1024,
               "per_connection_kb_after_gc": (rss_gc - base_gc) / target / 1024,
               "connect_s": connect_s}
        rows.append(row)
        print(f"{target:>6} connections: RSS {row['rss_mb']:7.1f} MiB, +{row['delta_mb']:6.1f} "
              f"MiB, {row['per_connection_kb']:5.1f} KiB per connection "
              f"({row['per_connection_kb_after_gc']:5.1f} after a full GC; connected in "
              f"{connect_s:.1f} s)")
    await asyncio.gather(*(v.close() for v in viewers))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="1000,2000,5000",
                    help="connection counts to measure at (1000,2000,5000)")
    ap.add_argument("--rooms", type=int, default=1, help="rooms the connections spread over (1)")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for babelcast serve (repeat)")
    args = ap.parse_args(argv)
    steps = sorted(int(x) for x in args.steps.split(","))
    need = steps[-1] * 2 + 256  # this process and the gateway (which inherits the limit)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard < need:
            raise SystemExit(f"need {need} file descriptors, the hard limit is {hard}: "
                             "raise it (ulimit -Hn) or measure fewer connections")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    with tempfile.TemporaryDirectory() as tmp:
        # The rate limit counts handshakes per connection only, so defaults are fine; the
        # stall timeout never fires because every connection drains its socket.
        gateway = GatewayProcess(args.server_arg, Path(tmp) / "gateway.log",
                                 prelude=GC_ON_SIGUSR1)
        try:
            gateway.wait_ready()
            rows = asyncio.run(measure(gateway.port, gateway.proc.pid, steps, args.rooms))
        finally:
            gateway.stop()
    m = machine()
    print(f"\nmachine: {m['cpus']} CPUs, {m['cpu_model']}, Python {m['python']}")
    print("| connections | gateway RSS MiB | delta MiB | KiB per connection | KiB per "
          "connection after a full GC |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['connections']} | {r['rss_mb']:.1f} | {r['delta_mb']:.1f} | "
              f"{r['per_connection_kb']:.1f} | {r['per_connection_kb_after_gc']:.1f} |")
    last = rows[-1]
    for key, what in (("per_connection_kb", "as measured"),
                      ("per_connection_kb_after_gc", "after a full GC")):
        kb = last[key]
        print(f"{last['connections']} idle connections, {what}: {kb:.1f} KiB each (target "
              f"< 30 KB = 29.3 KiB: {'met' if kb * 1024 < 30_000 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
