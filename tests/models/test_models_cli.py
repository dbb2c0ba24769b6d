"""``babelcast models check`` and the rule that the gateway never imports torch. These need
no torch: the models are built with numpy (translation.toymodels)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from babelcast.gateway.cli import main
from babelcast.translation.toymodels import build_random_model


@pytest.fixture(scope="session")
def nllb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_model(tmp_path_factory.mktemp("cli") / "nllb", family="nllb",
                              languages=("en", "pt", "es"))


def test_check_loads_and_translates_a_sample(nllb_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", str(nllb_dir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "en->es: " in out and "en->pt: " in out and f"ok: {nllb_dir}" in out
    assert main(["models", "check", str(nllb_dir), "--pair", "pt-es", "--text", "olá"]) == 0
    assert "pt->es: " in capsys.readouterr().out


@pytest.mark.parametrize(("victim", "content"), [("model.bin", None),
                                                 ("sentencepiece.bpe.model", b"junk"),
                                                 ("manifest.json", None)])
def test_check_names_the_missing_or_corrupt_file(nllb_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 victim: str, content: bytes | None) -> None:
    model = Path(shutil.copytree(nllb_dir, tmp_path / "m"))
    if content is None:
        (model / victim).unlink()
    else:
        (model / victim).write_bytes(content)
    assert main(["models", "check", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("babelcast models check: ") and str(model / victim) in err
    assert "Traceback" not in err


def test_check_of_a_missing_directory_says_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert f"model directory {tmp_path / 'nope'} does not exist" in err
    assert f"babelcast models convert <Hugging Face model id> --out {tmp_path / 'nope'}" in err


def test_check_refuses_a_pair_the_model_lacks(nllb_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", str(nllb_dir), "--pair", "en-ko"]) == 1
    assert "does not translate en->ko" in capsys.readouterr().err


def test_models_without_an_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 2
    assert "convert" in capsys.readouterr().err


def test_convert_without_the_extra_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails like when absent
    assert main(["models", "convert", "some/model", "--out", str(tmp_path / "o")]) == 1
    assert "pip install 'babelcast[convert]'" in capsys.readouterr().err


def test_the_gateway_never_imports_torch(nllb_dir: Path) -> None:
    code = (
        "import sys\n"
        "import babelcast.gateway.node, babelcast.gateway.cli, babelcast.translation\n"
        "from babelcast.translation import CTranslate2Engine\n"
        f"e = CTranslate2Engine({str(nllb_dir)!r})\n"
        "e.translate_batch(['hello'], 'en', 'pt')\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
