"""Your own package in the development venv survives the next bootstrap.

The real scripts/bootstrap.sh and scripts/local-packages.sh run in a small uv workspace
of their own (a stand-in for the checkout, with a ``lute-exec`` script so bootstrap
thinks its venv is there), so the test run's .venv is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from tests.conftest import ROOT
from tests.docs.conftest import uv

WORKSPACE = """\
[project]
name = "stand-in"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = []

[project.scripts]
lute-exec = "stand_in:main"

[dependency-groups]
dev = []

[build-system]
requires = ["hatchling>=1.27"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/stand_in"]
"""

MINE = """\
[project]
name = "mine"
version = "0.1.0"

[build-system]
requires = ["hatchling>=1.27"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/mine"]
"""


def _project(directory: Path, pyproject: str, package: str) -> None:
    (directory / "src" / package).mkdir(parents=True)
    (directory / "src" / package / "__init__.py").write_text("def main():\n    return 0\n")
    (directory / "pyproject.toml").write_text(pyproject)


def _environment() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["LUTE_BOOTSTRAP_TEST"] = "0"  # the system packages are the test run's business
    env["PATH"] = "%s%s%s" % (Path(uv()).parent, os.pathsep, env.get("PATH", ""))
    return env


def _bootstrap(checkout: Path) -> str:
    done = subprocess.run(
        ["bash", "scripts/bootstrap.sh"],
        cwd=checkout,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def _has_mine(checkout: Path) -> bool:
    found = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-c", "import mine"],
        capture_output=True,
    )
    return found.returncode == 0


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="bootstrap.sh would install MPI")
def test_a_listed_package_survives_the_sync_that_removes_it(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    _project(checkout, WORKSPACE, "stand_in")
    (checkout / "scripts").mkdir()
    (checkout / "packages").mkdir()  # where bootstrap looks for changed pyproject.toml files
    for script in ("bootstrap.sh", "local-packages.sh"):
        shutil.copy2(ROOT / "scripts" / script, checkout / "scripts")
    _project(tmp_path / "mine", MINE, "mine")
    (checkout / "local-packages.txt").write_text("# my analysis code\n  ../mine  \n")

    shown = _bootstrap(checkout)
    assert "creating .venv" in shown and _has_mine(checkout)

    # A lock or pyproject change makes bootstrap sync again: `uv sync` alone removes it ...
    subprocess.run([uv(), "sync", "-q"], cwd=checkout, env=_environment(), check=True, timeout=300)
    assert not _has_mine(checkout)
    (checkout / "uv.lock").touch()  # as a `uv lock` after a dependency change does
    # ... and bootstrap puts it back after syncing.
    shown = _bootstrap(checkout)
    assert "creating .venv" in shown and "[local-packages] installing" in shown
    assert _has_mine(checkout)


def test_a_line_that_is_not_a_project_is_refused(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "local-packages.sh", checkout / "scripts")
    subprocess.run([uv(), "venv", "-q", str(checkout / ".venv")], check=True)
    (checkout / "local-packages.txt").write_text("nowhere\n")
    done = subprocess.run(
        ["bash", "scripts/local-packages.sh"], cwd=checkout, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "names 'nowhere', which is not a Python project" in done.stderr


def test_no_list_no_work(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "local-packages.sh", tmp_path / "scripts")
    done = subprocess.run(["bash", "scripts/local-packages.sh"], cwd=tmp_path)
    assert done.returncode == 0
