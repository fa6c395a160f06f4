"""MPI Tasks under a real ``mpirun`` with mpi4py (2 and 4 ranks on 2 cores)."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import List

import pytest

from tests.conftest import lute_exec, popen_lute_exec, write_config
from tests.executor.test_run import _wait_for_status, db_json, executions

pytestmark = [
    pytest.mark.mpi,
    pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun on PATH"),
]
pytest.importorskip("mpi4py")


def processes_with_marker(marker: str) -> List[int]:
    """PIDs whose environment holds ``LUTE_TEST_MARKER=marker``."""
    found = []
    needle = ("LUTE_TEST_MARKER=%s" % marker).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("ranks", [2, 4])
def test_mpi_tester_sums_over_all_ranks(config: Path, ranks: int) -> None:
    done = lute_exec(
        ["run", "-c", str(config), "-t", "MPITester"], env={"LUTE_MPI_RANKS": str(ranks)}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in range(ranks):
        assert "[rank %d] rank %d summed" % (rank, rank) in done.stderr
    work = config.parent / "work"
    [row] = executions(work)
    shown = db_json(work, "show", str(row["id"]))
    payload = shown["results"][0]["payload"]
    assert payload == {"total": 1000 * 999 // 2, "ranks": ranks}


def test_failing_rank_fails_the_job_quickly_and_is_named(config: Path) -> None:
    started = time.monotonic()
    done = lute_exec(
        ["run", "-c", str(config), "-t", "MPITester", "MPITest.fail_on_rank=1"],
        env={"LUTE_MPI_RANKS": "2"},
    )
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 60
    [row] = executions(config.parent / "work")
    assert row["status"] == "FAILED"
    assert "rank 1" in row["error"]
    assert "failing on rank 1 as requested" in row["error"]


def test_killed_rank_does_not_hang(config: Path) -> None:
    marker = uuid.uuid4().hex
    env = dict(os.environ, LUTE_MPI_RANKS="2", LUTE_TEST_MARKER=marker)
    proc = popen_lute_exec(
        ["run", "-c", str(config), "-t", "MPITester", "MPITest.sleep_seconds=60"], env=env
    )
    row = _wait_for_status(config.parent / "work", "RUNNING")
    os.kill(row["pid"], signal.SIGKILL)
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err
    assert executions(config.parent / "work")[0]["status"] == "FAILED"
    assert processes_with_marker(marker) == []


def test_hanging_rank_times_out_and_every_rank_is_gone(short_tmp: Path) -> None:
    config = write_config(short_tmp, timeout=3)
    marker = uuid.uuid4().hex
    done = lute_exec(
        ["run", "-c", str(config), "-t", "MPITester", "MPITest.hang_on_rank=1"],
        env={"LUTE_MPI_RANKS": "2", "LUTE_TEST_MARKER": marker},
        timeout=120,
    )
    assert done.returncode == 124, done.stderr
    assert executions(short_tmp / "work")[0]["status"] == "TIMEDOUT"
    assert processes_with_marker(marker) == []


def test_ranks_come_from_the_config(short_tmp: Path) -> None:
    config = write_config(short_tmp)
    config.write_text(config.read_text().replace("task_timeout:", "mpi_ranks: 3\ntask_timeout:"))
    done = lute_exec(["run", "-c", str(config), "-t", "MPITester", "--dry-run"])
    assert done.returncode == 0, done.stderr
    assert "%s -n 3 " % shutil.which("mpirun") in done.stdout


def test_dry_run_shows_the_resolved_launcher(config: Path) -> None:
    done = lute_exec(
        ["run", "-c", str(config), "-t", "MPITester", "--dry-run"], env={"LUTE_MPI_RANKS": "4"}
    )
    assert done.returncode == 0, done.stderr
    launcher = shutil.which("mpirun")
    assert "%s -n 4" % launcher in done.stdout
