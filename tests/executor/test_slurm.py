"""MPI managed tasks inside a real SLURM allocation on localhost (srun as the launcher)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SlurmCluster, write_config
from tests.executor.test_run import db_json, executions

pytestmark = [pytest.mark.slurm, pytest.mark.mpi]
pytest.importorskip("mpi4py")


def sbatch(tmp: Path, ntasks: int, *lute_args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """Run ``lute-exec`` as a batch job of ``ntasks`` tasks and wait for it."""
    command = " ".join([sys.executable, "-m", "lute.execution.cli", *lute_args])
    return subprocess.run(
        ["sbatch", "--wait", "-n", str(ntasks), "-o", str(tmp / "job.out"), "--wrap", command],
        capture_output=True,
        text=True,
        timeout=180,
        env={k: v for k, v in os.environ.items() if not k.startswith("LUTE_MPI")},
        check=False,
    )


def test_mpi_task_uses_srun_inside_an_allocation(slurm: SlurmCluster, short_tmp: Path) -> None:
    config = write_config(short_tmp)
    done = sbatch(short_tmp, 2, "run", "-c", str(config), "-t", "MPITester")
    output = (short_tmp / "job.out").read_text()
    assert done.returncode == 0, output + done.stderr
    assert "%s -n 2 --mpi=pmix" % shutil.which("srun") in output
    assert "[rank 1] rank 1 summed" in output
    [row] = executions(short_tmp / "work")
    shown = db_json(short_tmp / "work", "show", str(row["id"]))
    assert shown["results"][0]["payload"] == {"total": 1000 * 999 // 2, "ranks": 2}


def test_failing_rank_fails_the_batch_job(slurm: SlurmCluster, short_tmp: Path) -> None:
    config = write_config(short_tmp)
    done = sbatch(
        short_tmp, 2, "run", "-c", str(config), "-t", "MPITester", "MPITest.fail_on_rank=1"
    )
    output = (short_tmp / "job.out").read_text()
    assert done.returncode != 0, output
    [row] = executions(short_tmp / "work")
    assert row["status"] == "FAILED"
    assert "rank 1" in row["error"]
