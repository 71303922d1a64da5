"""The layers hold: `lint-imports` keeps every contract of pyproject.toml, and a new upward
import (a lower app importing a higher one) breaks the build with the contract's name."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_every_import_contract_is_kept():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_build_naming_the_contract(tmp_path):
    # Given a copy of the code, where genealogy imports a portal page
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "genealogy" / "upward.py").write_text("import portal.views  # noqa\n")

    # When the contracts are checked
    result = lint_imports(tmp_path)

    # Then the build fails, and says which contract and which import
    assert result.returncode == 1
    assert "Apps stand in layers" in result.stdout and "BROKEN" in result.stdout
    assert "genealogy is not allowed to import portal" in result.stdout
    assert "genealogy.upward -> portal.views" in result.stdout
