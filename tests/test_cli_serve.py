"""`babelcast serve` as a user runs it: a separate process, real socket, real models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
from websockets.sync.client import connect

from tests.live import free_port


def test_babelcast_serve_starts_translates_and_stops_cleanly() -> None:
    port = free_port()
    env = {**os.environ, "BABELCAST_PORT": str(port), "BABELCAST_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "babelcast serve did not become ready"
            time.sleep(0.1)
        url = f"ws://127.0.0.1:{port}/v1/rooms/cli/ws"
        with connect(url + "?lang=pt&name=Ana") as pt, connect(url + "?lang=en") as en:
            assert json.loads(pt.recv(timeout=10))["type"] == "welcome"
            assert json.loads(en.recv(timeout=10))["type"] == "welcome"
            en.send(json.dumps({"type": "comment", "text": "I love this lipstick"}))
            while True:
                frame = json.loads(pt.recv(timeout=20))
                if frame["type"] == "comment":
                    break
            if frame["pending"]:
                while frame["type"] != "translation":
                    frame = json.loads(pt.recv(timeout=20))
            assert "batom" in frame["text"].lower()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Traceback" not in out


def test_invalid_setting_is_reported_before_anything_starts() -> None:
    env = {**os.environ, "BABELCAST_MAX_TEXT_CHARS": "lots"}
    out = subprocess.run([sys.executable, "-m", "gateway", "serve"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "BABELCAST_MAX_TEXT_CHARS" in out.stderr and "Traceback" not in out.stderr
