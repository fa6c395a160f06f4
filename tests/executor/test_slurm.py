"""MPI managed tasks inside a real SLURM allocation on localhost (srun as the launcher)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT, write_config
from tests.executor.test_run import db_json, executions

pytestmark = [pytest.mark.slurm, pytest.mark.mpi]
pytest.importorskip("mpi4py")

SLURM_SCRIPT = ROOT / "scripts" / "slurm-local.sh"


@pytest.fixture(scope="module")
def slurm() -> Iterator[None]:
    """A single-node SLURM cluster, started for these tests (needs root and slurm-wlm)."""
    if shutil.which("slurmctld") is None or shutil.which("sbatch") is None:
        pytest.skip("SLURM is not installed (LUTE_BOOTSTRAP_TEST=1 scripts/bootstrap.sh)")
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd/munged needs root")
    started = subprocess.run(
        ["bash", str(SLURM_SCRIPT), "start"], capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr
    yield
    subprocess.run(["bash", str(SLURM_SCRIPT), "stop"], capture_output=True, timeout=60)


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


def test_mpi_task_uses_srun_inside_an_allocation(slurm: None, short_tmp: Path) -> None:
    config = write_config(short_tmp)
    done = sbatch(short_tmp, 2, "run", "-c", str(config), "-t", "MPITester")
    output = (short_tmp / "job.out").read_text()
    assert done.returncode == 0, output + done.stderr
    assert "%s -n 2 --mpi=pmix" % shutil.which("srun") in output
    assert "[rank 1] rank 1 summed" in output
    [row] = executions(short_tmp / "work")
    shown = db_json(short_tmp / "work", "show", str(row["id"]))
    assert shown["results"][0]["payload"] == {"total": 1000 * 999 // 2, "ranks": 2}


def test_failing_rank_fails_the_batch_job(slurm: None, short_tmp: Path) -> None:
    config = write_config(short_tmp)
    done = sbatch(
        short_tmp, 2, "run", "-c", str(config), "-t", "MPITester", "MPITest.fail_on_rank=1"
    )
    output = (short_tmp / "job.out").read_text()
    assert done.returncode != 0, output
    [row] = executions(short_tmp / "work")
    assert row["status"] == "FAILED"
    assert "rank 1" in row["error"]
