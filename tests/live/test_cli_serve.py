"""`babelcast serve` as a user runs it: a separate process, real socket, real models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.harness import ServeProcess


def test_babelcast_serve_starts_translates_and_stops_cleanly() -> None:
    # Settings from the environment, as a container would pass them.
    node = ServeProcess(env={"BABELCAST_TRANSLATION_WAIT_MS": "1000"}).wait_ready()
    try:
        pt = node.viewer("cli", "pt", "Ana")
        en = node.viewer("cli", "en", "Bob")
        en.comment("I love this lipstick")
        got = pt.expect_final("I love this lipstick")
        assert "batom" in got["text"].lower()
    finally:
        out = node.stop()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert node.proc.returncode in (0, -signal.SIGTERM), out
    assert "Traceback" not in out


def test_invalid_setting_is_reported_before_anything_starts() -> None:
    env = {**os.environ, "BABELCAST_MAX_TEXT_CHARS": "lots"}
    out = subprocess.run([sys.executable, "-m", "babelcast.gateway", "serve"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "BABELCAST_MAX_TEXT_CHARS" in out.stderr and "Traceback" not in out.stderr
