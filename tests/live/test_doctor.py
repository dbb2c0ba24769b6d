"""``babelcast doctor``: a table of what this machine has, and how to get what is missing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from babelcast.gateway import doctor
from babelcast.gateway.cli import main
from babelcast.translation.toymodels import build_random_model
from tests.harness import free_port


def test_doctor_prints_a_table_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["CHECK", "STATUS", "FOR", "DETAIL"]
    for name in ("settings", "port 8000", "embedded engine", "GPU", "CUDA libraries",
                 "redis-server", "chromium", "chromedriver", "[bench] extra"):
        assert any(line.startswith(name) for line in out.splitlines()), name


def test_a_port_in_use_fails_only_with_strict(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["doctor", "--port", str(port)]) == 0
        assert main(["doctor", "--port", str(port), "--strict"]) == 1
    out = capsys.readouterr().out
    assert f"cannot listen on 127.0.0.1:{port}" in out and "pick a free port" in out


def test_models_of_a_models_file_are_checked(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    build_random_model(tmp_path / "nllb", family="nllb", languages=("en", "pt"))
    good = tmp_path / "good.toml"
    good.write_text('[[models]]\npath = "nllb"\n', encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[models]]\npath = "missing"\n', encoding="utf-8")
    assert main(["doctor", "--models", str(good), "--port", str(free_port()), "--strict",
                 "--device", "cpu"]) == 0
    assert "nllb" in capsys.readouterr().out
    assert main(["doctor", "--models", str(bad), "--port", str(free_port()), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "MISSING" in out and str(tmp_path / "missing") in out
    assert "babelcast models convert" in out


def test_cuda_without_a_gpu_is_needed_and_says_how_to_get_it() -> None:
    checks = doctor.run_checks({"device": "cuda", "port": free_port()}, {}, gpus=lambda: 0)
    gpu = next(c for c in checks if c.name == "GPU")
    assert gpu.status == "MISSING" and "NVIDIA driver" in gpu.fix
    checks = doctor.run_checks({"port": free_port()}, {}, gpus=lambda: 0)
    assert next(c for c in checks if c.name == "GPU").status == "missing"  # optional


def test_invalid_settings_are_a_row_and_the_other_checks_still_run() -> None:
    checks = doctor.run_checks({"port": free_port()}, {"BABELCAST_MAX_TEXT_CHARS": "lots"})
    assert checks[0].name == "settings" and checks[0].status == "MISSING"
    assert "BABELCAST_MAX_TEXT_CHARS" in checks[0].detail
    assert any(c.name == "redis-server" for c in checks)
