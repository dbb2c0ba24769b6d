"""`babelcast serve` as a user runs it: a separate process, real socket, real models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from babelcast.gateway.preflight import cuda_device_count
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


def _serve_fails(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run([sys.executable, "-m", "babelcast.gateway", "serve", *args],
                         capture_output=True, text=True, timeout=60, cwd=cwd)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and "Started server process" not in out.stderr
    assert out.stderr.startswith("babelcast: ") and out.stderr.count("\n") == 1
    return out.stderr


@pytest.mark.parametrize(("body", "expected"), [
    ("[[models]\n", "bad.toml is not valid TOML"),
    ('[[models]]\npath = "nowhere"\n', "models[0]"),
])
def test_a_bad_models_file_is_one_line_before_uvicorn_starts(tmp_path: Path, body: str,
                                                              expected: str) -> None:
    (tmp_path / "bad.toml").write_text(body, encoding="utf-8")
    err = _serve_fails("--models", "bad.toml", cwd=tmp_path)
    assert expected in err and "docs/models.md" in err


def test_a_directory_as_models_file_is_called_a_directory(tmp_path: Path) -> None:
    err = _serve_fails("--models", str(tmp_path))
    assert "is a directory" in err and "[[models]]" in err


def test_device_cuda_without_a_gpu_is_refused() -> None:
    if cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    err = _serve_fails("--device", "cuda")
    assert "no CUDA GPU" in err and "--device cpu" in err
