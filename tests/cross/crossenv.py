"""Helpers of the cross-environment tests: build Task venvs with uv, fake a conda layout.

The Task's Python is ``$LUTE_TEST_TASK_PYTHON`` (default ``3.8``); the Executor is the
Python running pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "packages" / "lute-runtime"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TASK_PACKAGE = FIXTURES / "mec_analysis"
MODELS_PACKAGE = FIXTURES / "mec_analysis_models"
# Local packages are rebuilt on every install: uv would otherwise reuse a wheel built
# before the sources changed.
LOCAL_NAMES = {RUNTIME: "lute-runtime", TASK_PACKAGE: "mec-analysis"}
BUILD_TIMEOUT = 300


def task_python_version() -> str:
    """The Python version of the Task's venv (``$LUTE_TEST_TASK_PYTHON``, default 3.8)."""
    return os.environ.get("LUTE_TEST_TASK_PYTHON", "3.8")


def tool_environment() -> Dict[str, str]:
    """Environment for uv: no interpreter downloads, every pyenv 3.8+ version visible."""
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)
    pyenv = shutil.which("pyenv")
    if pyenv and not env.get("PYENV_VERSION"):
        listed = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=60
        ).stdout.split()
        wanted = [v for v in listed if v.split(".")[:2] in [["3", str(m)] for m in range(8, 14)]]
        if wanted:
            env["PYENV_VERSION"] = ":".join(wanted)
    return env


#: Tries to create a Task venv before its Python is taken to be missing.
VENV_ATTEMPTS = 3


def find_uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to build the Task venvs (scripts/bootstrap.sh installs it)")
    return uv


def run_tool(argv: Sequence[str]) -> None:
    done = subprocess.run(
        list(argv),
        env=tool_environment(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(argv), done.stdout, done.stderr))


def build_venv(path: Path, version: str, packages: Sequence[object] = ()) -> Path:
    """Create a uv venv of Python ``version`` at ``path`` holding ``packages``."""
    uv = find_uv()
    for attempt in range(VENV_ATTEMPTS):
        try:
            run_tool([uv, "venv", "-q", "-p", version, str(path)])
            break
        except RuntimeError as error:
            # A pyenv shim can fail for a moment while another process rehashes: only a
            # failure that lasts means the interpreter is missing.
            if attempt + 1 == VENV_ATTEMPTS:
                pytest.skip("no Python %s for a Task venv: %s" % (version, error))
            time.sleep(2.0)
    if packages:
        refresh: List[str] = []
        for package in packages:
            name = LOCAL_NAMES.get(package) if isinstance(package, Path) else None
            if name:
                refresh += ["--reinstall-package", name]
        python = str(path / "bin" / "python")
        run_tool([uv, "pip", "install", "-q", "-p", python, *refresh, *map(str, packages)])
    return path


def make_conda_layout(prefix: Path, activation: Dict[str, str], env_vars: Dict[str, str]) -> None:
    """Give a venv the layout of a conda environment (conda cannot be installed here)."""
    (prefix / "conda-meta").mkdir(exist_ok=True)
    (prefix / "conda-meta" / "history").write_text("==> 2026-01-01 00:00:00 <==\n")
    if env_vars:
        (prefix / "conda-meta" / "state").write_text(json.dumps({"env_vars": env_vars}))
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True, exist_ok=True)
    for name, text in activation.items():
        (scripts / name).write_text(text)


# Activation scripts of the conda-layout env: order matters (MEC_ORDER), output on stdout
# must not turn into variables, and a variable from conda-meta/state is visible to them.
CONDA_ACTIVATION = {
    "10-mec.sh": 'export MEC_CALIBRATION="$CONDA_PREFIX/calib/r0042"\n'
    'export MEC_ORDER="${MEC_ORDER:-}a"\necho "MEC_NOISE=from-stdout"\n',
    "20-mec.sh": 'export MEC_ORDER="${MEC_ORDER}b"\nexport MEC_SAW_STATE="$MEC_STATE_VAR"\n',
    "README.txt": "not a shell script: never sourced\n",
}
CONDA_ENV_VARS = {"MEC_STATE_VAR": "from-state"}
