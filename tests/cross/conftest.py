"""Fixtures of the cross-environment tests: Task venvs built with uv, once per session.

Venvs live under a short directory in /tmp so that socket paths inside them stay under
the AF_UNIX limit.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest
from crossenv import (
    CONDA_ACTIVATION,
    CONDA_ENV_VARS,
    MODELS_PACKAGE,
    RUNTIME,
    TASK_PACKAGE,
    build_venv,
    find_uv,
    make_conda_layout,
    run_tool,
    task_python_version,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: runs a Task through the Executor (needs the Executor wired to environments "
        "and preflight)",
    )


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.cross)


@pytest.fixture(scope="session")
def cross_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="lx-", dir="/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def venv_factory(cross_root: Path) -> Callable[[str, Tuple[object, ...]], Path]:
    """Build (once) a venv of a Python version holding some packages."""
    built: Dict[Tuple[str, Tuple[object, ...]], Path] = {}

    def make(version: str, packages: Tuple[object, ...]) -> Path:
        key = (version, packages)
        if key not in built:
            path = cross_root / ("v%d" % len(built))
            built[key] = build_venv(path, version, packages)
        return built[key]

    return make


@pytest.fixture(scope="session")
def task_python() -> str:
    return task_python_version()


@pytest.fixture(scope="session")
def task_venv(venv_factory: Callable[..., Path], task_python: str) -> Path:
    """lute-runtime + the facility package, on the Task's Python."""
    return venv_factory(task_python, (RUNTIME, TASK_PACKAGE))


@pytest.fixture(scope="session")
def bare_venv(venv_factory: Callable[..., Path], task_python: str) -> Path:
    """A venv without lute-runtime."""
    return venv_factory(task_python, ())


@pytest.fixture(scope="session")
def zmq_venv(venv_factory: Callable[..., Path], task_python: str) -> Path:
    """lute-runtime + pyzmq + the facility package."""
    return venv_factory(task_python, (RUNTIME, TASK_PACKAGE, "pyzmq"))


@pytest.fixture(scope="session")
def conda_envs(cross_root: Path, task_python: str) -> Path:
    """A directory of conda environments holding ``mecfit`` (a conda-layout venv)."""
    envs = cross_root / "envs"
    prefix = build_venv(envs / "mecfit", task_python, (RUNTIME, TASK_PACKAGE))
    make_conda_layout(prefix, CONDA_ACTIVATION, CONDA_ENV_VARS)
    return envs


@pytest.fixture(scope="session")
def executor_site(cross_root: Path) -> Path:
    """The facility's parameter models, installed for the Executor (put on PYTHONPATH)."""
    target = cross_root / "exec-site"
    run_tool(
        [
            find_uv(),
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--reinstall-package",
            "mec-analysis-models",
            "-p",
            sys.executable,
            "--target",
            str(target),
            str(MODELS_PACKAGE),
        ]
    )
    return target
