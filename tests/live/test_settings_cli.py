"""Settings from defaults, environment and flags; the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from babelcast.gateway.cli import build_parser, main
from babelcast.gateway.settings import Settings, SettingsError


def test_env_overrides_defaults_and_flags_override_env() -> None:
    env = {"BABELCAST_PORT": "9001", "BABELCAST_TRANSLATION_WAIT_MS": "100"}
    s = Settings.from_env(env)
    assert s.port == 9001 and s.translation_wait_ms == 100
    args = build_parser().parse_args(["serve", "--port", "9002"])
    values = {k: v for k, v in vars(args).items() if k != "command"}
    s = Settings.from_env(env, **values)
    assert s.port == 9002 and s.translation_wait_ms == 100


def test_bad_values_are_named() -> None:
    with pytest.raises(SettingsError, match="BABELCAST_PORT"):
        Settings.from_env({"BABELCAST_PORT": "eighty"})
    with pytest.raises(SettingsError, match="max_text_chars"):
        Settings(max_text_chars=0)
    with pytest.raises(SettingsError, match="engine"):
        Settings(engine="gpt")


def test_cli_reports_bad_settings_without_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BABELCAST_RATE_LIMIT_PER_S", "0")
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    assert exit_.value.code == 2
    assert "rate_limit_per_s" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["bench", "--help"],
                                  ["bench", "-h"], ["bench", "e2e", "--help"],
                                  ["doctor", "--help"]])
def test_help_on_everything(argv: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "babelcast.gateway", *argv], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "babelcast" in out.stdout
    if argv[0] == "serve":
        assert "--translation-wait-ms" in out.stdout and "BABELCAST_PORT" in out.stdout
    if argv[:2] == ["bench", "e2e"]:
        assert "--viewers" in out.stdout


def test_serve_help_groups_flags_with_a_description_and_the_choices() -> None:
    out = subprocess.run([sys.executable, "-m", "babelcast.gateway", "serve", "--help"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "200"}).stdout
    titles = [line.rstrip(":") for line in out.splitlines()
              if line.endswith(":") and not line.startswith(" ")]
    assert titles == ["options", "network and rooms", "translation", "models",
                      "auth and limits", "moderation and host console", "cluster",
                      "webhooks"]
    lines: dict[str, str] = {}  # each flag's text, its wrapped lines joined
    flag = ""
    for line in out.splitlines():
        if line.startswith("  -"):
            flag = line.split()[0]
            lines[flag] = line
        elif line.startswith("    ") and flag:
            lines[flag] += " " + line.strip()
        else:
            flag = ""
    assert lines["--engine"].startswith("  --engine {embedded,none}")
    assert "relay only" in lines["--engine"] and "BABELCAST_ENGINE" in lines["--engine"]
    assert "{none,jwt}" in lines["--auth"] and "{auto,cpu,cuda}" in lines["--device"]
    assert "models file (TOML" in lines["--models"] and "default ''" in lines["--models"]


def test_bench_without_the_extra_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # import fails like when absent
    assert main(["bench", "e2e"]) == 2
    err = capsys.readouterr().err
    assert "[bench] extra" in err and "psutil" in err and "pip install -e '.[bench]'" in err


def test_the_gateway_never_imports_torch() -> None:
    # torch is only for `babelcast models convert` (the [convert] extra).
    code = ("import sys; from babelcast.gateway.node import create_app; "
            "from babelcast.gateway.settings import Settings; import babelcast.gateway.cli, "
            "babelcast.translation.ct2, babelcast.translation.config; "
            "create_app(Settings()); print('torch' in sys.modules, "
            "'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
