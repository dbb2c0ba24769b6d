"""The checks `babelcast serve` runs before uvicorn starts, and the settings' help metadata."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from babelcast.gateway import preflight
from babelcast.gateway.settings import GROUPS, Settings, SettingsError


def _models_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "models.toml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_invalid_toml_is_named_with_the_file(tmp_path: Path) -> None:
    problem = preflight.models_problem(_models_file(tmp_path, "[[models]\n"))
    assert problem is not None and "is not valid TOML" in problem and "docs/models.md" in problem


def test_a_missing_model_directory_says_how_to_make_one(tmp_path: Path) -> None:
    problem = preflight.models_problem(_models_file(tmp_path, '[[models]]\npath = "gone"\n'))
    assert problem is not None
    assert "models[0]" in problem and str(tmp_path / "gone") in problem
    assert "babelcast models convert" in problem


def test_a_directory_given_as_models_file_is_called_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is a directory; --models takes a models file"):
        Settings(models=str(tmp_path))


def test_cuda_without_a_gpu_is_refused_and_auto_says_what_it_chose(tmp_path: Path) -> None:
    assert "no CUDA GPU" in (preflight.device_problem(Settings(device="cuda"), gpus=0) or "")
    assert preflight.device_problem(Settings(device="cuda"), gpus=1) is None
    assert preflight.device_problem(Settings(device="cuda", engine="none"), gpus=0) is None
    # An entry of the models file asking for cuda counts too.
    models = _models_file(tmp_path, '[[models]]\npath = "m"\ndevice = "cuda"\n')
    assert preflight.device_problem(Settings(models=models, device="cpu"), gpus=0)
    assert preflight.choose_device(Settings(models=models), gpus=0).device == "cpu"
    chosen = preflight.choose_device(Settings(models=models), gpus=2)
    assert chosen.device == "cuda" and "device auto chose cuda" in chosen.note
    assert "embedded engine" in preflight.choose_device(Settings(), gpus=2).note


def test_every_setting_has_a_group_and_a_description() -> None:
    for f in Settings.__dataclass_fields__.values():
        assert f.metadata.get("group") in GROUPS, f.name
        assert f.metadata.get("help"), f.name


def test_choices_are_checked_whatever_the_source() -> None:
    with pytest.raises(SettingsError, match="log_level must be one of critical"):
        Settings.from_env({"BABELCAST_LOG_LEVEL": "loud"})
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--auth", "oauth"])
    assert parser.parse_args(["--auth", "jwt"]).auth == "jwt"
