"""The layout is enforced, not hoped for: the import-linter contracts in pyproject.toml hold,
and every package folder is installed under the ``babelcast`` namespace."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "translation", "langid", "glossary")


def test_import_linter_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.fail("lint-imports is missing: install the test extra (import-linter)")
    proc = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_every_package_folder_is_installed_under_babelcast() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        "babelcast." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in PACKAGES for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed, f"add to pyproject.toml: {sorted(found - listed)}; " \
                            f"remove: {sorted(listed - found)}"
    assert config["package-dir"] == {f"babelcast.{p}": p for p in PACKAGES}
