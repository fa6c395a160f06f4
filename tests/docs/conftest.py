"""What the docs tests share: a virtual environment like the one bootstrap.sh makes, and
sandboxes laid out like a checkout, in which the pages' shell samples run.

The venv is built once per session with uv from this work tree (the three distributions
editable, matplotlib, pytest), so that installing a facility package into it, as the
guides do, never touches the test run's own environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

from tests.conftest import ROOT

DOCS = ROOT / "docs"


def uv() -> str:
    """The uv executable (bootstrap.sh installs it)."""
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not on PATH: run scripts/bootstrap.sh")
    return found


@pytest.fixture(scope="session")
def docs_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding LUTE (editable, from this tree), matplotlib and pytest."""
    venv = tmp_path_factory.mktemp("docs-venv") / "venv"
    python = "%d.%d" % sys.version_info[:2]
    subprocess.run([uv(), "venv", "-q", "-p", python, str(venv)], check=True)
    packages = ROOT / "packages"
    subprocess.run(
        [
            uv(), "pip", "install", "-q", "-p", str(venv / "bin" / "python"),
            "-e", str(packages / "lute-runtime"),
            "-e", str(packages / "lute-models"),
            "-e", "%s[plots]" % (packages / "lute-executor"),
            "pytest",
            *(["mpi4py"] if shutil.which("mpirun") else []),
        ],
        check=True,
        cwd=ROOT,
    )  # fmt: skip
    return venv


def _original_lute_db(sandbox: Path) -> None:
    from tests.runtime.test_db_original import build_original_database

    (sandbox / "old").mkdir()
    build_original_database(sandbox / "old" / "lute.db")


#: What ``<!-- test: setup=NAME -->`` gives the sandbox before the sample runs.
SETUPS: Dict[str, Callable[[Path], None]] = {
    # A lute.db of the original LUTE (layout v1), at old/lute.db.
    "original-lute-db": _original_lute_db,
}


def sandbox_env(sandbox: Path) -> Dict[str, str]:
    """The environment a sample runs with: the sandbox's venv first on PATH."""
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    env["PATH"] = "%s%s%s" % (sandbox / ".venv" / "bin", os.pathsep, env.get("PATH", ""))
    # Bytecode is written as modules are first imported: compiling the whole venv up
    # front costs more than the samples import.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@pytest.fixture
def sandbox(docs_venv: Path, tmp_path: Path) -> Iterator[Path]:
    """A directory laid out like a checkout after bootstrap.sh: ``.venv`` (the docs venv),
    ``examples/`` (a copy), ``packages/`` (a link) and ``scripts/local-packages.sh``.

    Whatever a page installs into the venv is removed afterwards."""
    root = tmp_path / "lute"
    root.mkdir()
    (root / ".venv").symlink_to(docs_venv)
    (root / "packages").symlink_to(ROOT / "packages")
    shutil.copytree(
        ROOT / "examples",
        root / "examples",
        ignore=shutil.ignore_patterns("lute-work", "__pycache__"),
    )
    (root / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "local-packages.sh", root / "scripts")
    before = _installed(docs_venv)
    yield root
    added = sorted(set(_installed(docs_venv)) - set(before))
    if added:
        subprocess.run(
            [uv(), "pip", "uninstall", "-q", "-p", str(docs_venv / "bin" / "python"), *added],
            check=True,
        )


def _installed(venv: Path) -> List[str]:
    listed = subprocess.run(
        [uv(), "pip", "list", "--format", "json", "-p", str(venv / "bin" / "python")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [package["name"] for package in json.loads(listed.stdout)]
