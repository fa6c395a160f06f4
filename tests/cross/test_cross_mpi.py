"""An MPI Task in a switched environment: mpirun starts the venv's Python on every rank."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest

from tests.cross.crossenv import RUNTIME

pytestmark = [
    pytest.mark.mpi,
    pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun on PATH"),
]

CONFIG = """\
%%YAML 1.3
---
title: "MPI in a switched env"
experiment: "TST12345"
run: 7
date: "2026/11/25"
lute_version: 0.1
task_timeout: 120
work_dir: "%(work_dir)s"
...
---
MPITest:
  total_items: 5000
...
"""

DRIVER = r"""
import json, sys
from lute.execution.environments import EnvironmentSpec
from lute.execution.executor import MPIExecutor
from lute.io.db import Database

venv, config, db_path = sys.argv[1:4]
# A venv with its own MPI puts its launcher first on the Task's PATH.
executor = MPIExecutor("MPITest", ranks=2)
executor.set_environment(EnvironmentSpec.venv(venv))
status = executor.execute_task(config)
db = Database(db_path, readonly=True)
[execution] = db.executions()
print("DRIVER " + json.dumps({
    "status": status.value,
    "python": execution.environment["python"],
    "argv": execution.environment["argv"],
    "payload": db.results(execution.id)[0].payload,
}))
"""


@pytest.fixture(scope="session")
def mpi_venv(venv_factory: Callable[..., Path], task_python: str) -> Path:
    """lute-runtime + mpi4py on the Task's Python (no pydantic, no pyzmq)."""
    return venv_factory(task_python, (RUNTIME, "mpi4py"))


def run_mpi_driver(venv: Path, tmp_path: Path) -> Tuple[Dict[str, Any], str]:
    """Run MPITest on 2 ranks in ``venv`` through a fresh Executor process.

    Returns:
        What the driver printed about the run, and the Executor's stderr.
    """
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG % {"work_dir": tmp_path / "work"})
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            DRIVER,
            str(venv),
            str(config),
            str(tmp_path / "work" / "lute.db"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")),
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("DRIVER ")]
    assert lines, done.stdout + done.stderr
    out = json.loads(lines[-1][len("DRIVER ") :])
    return out, done.stderr


def test_mpi_task_runs_in_the_switched_venv(mpi_venv: Path, tmp_path: Path) -> None:
    out, stderr = run_mpi_driver(mpi_venv, tmp_path)
    assert out["status"] == "COMPLETED", stderr
    assert out["python"] == str(mpi_venv / "bin" / "python")
    assert str(mpi_venv / "bin" / "python") in out["argv"]
    assert out["payload"] == {"total": 5000 * 4999 // 2, "ranks": 2}
    assert "[rank 1]" in stderr


@pytest.fixture(scope="session")
def mpich_venv(venv_factory: Callable[..., Path], task_python: str) -> Path:
    """lute-runtime + MPICH (from PyPI, with its own mpiexec) + mpi4py built against it."""
    return venv_factory(task_python, (RUNTIME, "mpich", "mpi4py"))


def test_mpich_in_the_task_venv_is_found_and_used(mpich_venv: Path, tmp_path: Path) -> None:
    from lute.execution.mpi import detect_mpi_flavour

    launcher = mpich_venv / "bin" / "mpirun"
    assert detect_mpi_flavour(str(launcher)) == "mpich"
    out, stderr = run_mpi_driver(mpich_venv, tmp_path)
    assert out["status"] == "COMPLETED", stderr
    # MPICH's launcher from the venv, without Open MPI's root flag
    assert out["argv"][:3] == [str(launcher), "-n", "2"]
    assert "--allow-run-as-root" not in out["argv"]
    assert out["payload"] == {"total": 5000 * 4999 // 2, "ranks": 2}
