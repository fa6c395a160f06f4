"""MPI Tasks under a real ``mpirun`` with mpi4py (2 and 4 ranks on 2 cores)."""

from __future__ import annotations

import os
import re
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


def _logging_launcher(directory: Path) -> Path:
    """An ``mpirun`` that notes each launch (not ``--version``) in ``launches.log``."""
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "mpirun"
    wrapper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = --version ] || echo launched >> %s\n'
        'exec %s "$@"\n' % (directory / "launches.log", shutil.which("mpirun"))
    )
    wrapper.chmod(0o755)
    return wrapper


def test_mpi_job_starts_while_the_config_is_validated(short_tmp: Path) -> None:
    config = write_config(short_tmp)
    wrapper = _logging_launcher(short_tmp / "bin")
    log = wrapper.parent / "launches.log"
    marker = uuid.uuid4().hex
    env = {"LUTE_MPI_RANKS": "2", "LUTE_MPI_LAUNCHER": str(wrapper), "LUTE_TEST_MARKER": marker}
    # Invalid parameters: the job was already started, and is ended with nothing recorded.
    bad = lute_exec(["run", "-c", str(config), "-t", "MPITester", "MPITest.total_items=0"], env=env)
    assert bad.returncode == 2, bad.stderr
    assert "total_items" in bad.stderr
    assert log.read_text().splitlines() == ["launched"]
    assert processes_with_marker(marker) == []
    assert not (short_tmp / "work" / "lute.db").exists()
    # A valid run uses the job started early: one launch, not two.
    log.unlink()
    done = lute_exec(["run", "-c", str(config), "-t", "MPITester"], env=env)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["launched"]
    assert "[rank 1] rank 1 summed" in done.stderr


def test_mpi_job_with_its_ranks_in_the_config_starts_while_it_is_validated(
    short_tmp: Path,
) -> None:
    config = write_config(short_tmp)
    config.write_text(config.read_text().replace("task_timeout:", "mpi_ranks: 3\ntask_timeout:"))
    wrapper = _logging_launcher(short_tmp / "bin")
    log = wrapper.parent / "launches.log"
    env = {"LUTE_MPI_LAUNCHER": str(wrapper), "LUTE_MPI_RANKS": "2"}
    bad = lute_exec(["run", "-c", str(config), "-t", "MPITester", "MPITest.total_items=0"], env=env)
    assert bad.returncode == 2, bad.stderr
    assert log.read_text().splitlines() == ["launched"]  # early, with the config's 3 ranks
    log.unlink()
    done = lute_exec(["run", "-c", str(config), "-t", "MPITester"], env=env)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["launched"]
    assert "[rank 2] rank 2 summed" in done.stderr


def test_mpi_job_waits_for_ranks_only_validation_can_tell(short_tmp: Path) -> None:
    config = write_config(short_tmp)
    # 2.0 is validated into 2 ranks, but only validation can say so.
    config.write_text(config.read_text().replace("task_timeout:", "mpi_ranks: 2.0\ntask_timeout:"))
    wrapper = _logging_launcher(short_tmp / "bin")
    env = {"LUTE_MPI_LAUNCHER": str(wrapper)}
    bad = lute_exec(["run", "-c", str(config), "-t", "MPITester", "MPITest.total_items=0"], env=env)
    assert bad.returncode == 2, bad.stderr
    assert not (wrapper.parent / "launches.log").exists()
    done = lute_exec(["run", "-c", str(config), "-t", "MPITester"], env=env)
    assert done.returncode == 0, done.stderr
    assert "[rank 1] rank 1 summed" in done.stderr


def test_multi_node_communication_tester_hears_every_rank(short_tmp: Path) -> None:
    """The original LUTE's TestMultiNodeCommunication: each rank reports where it runs."""
    config = write_config(short_tmp, "TestMultiNodeCommunication:\n  arr_size: 8\n...\n")
    done = lute_exec(
        ["run", "-c", str(config), "-t", "MultiNodeCommunicationTester"],
        env={"LUTE_MPI_RANKS": "2"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in range(2):
        assert "[rank %d] Rank %d of 2 sending message from" % (rank, rank) in done.stderr
    [row] = executions(short_tmp / "work")
    assert row["status"] == "COMPLETED"


def test_the_status_line_counts_ranks_heard_from_of_those_launched(config: Path) -> None:
    from tests.executor.test_console import run_on_a_terminal

    text = run_on_a_terminal(config, [], env={"LUTE_MPI_RANKS": "2"}, managed_task="MPITester")
    counts = set(re.findall(r" (\d+/\d+) ranks", text))
    assert "2/2" in counts, text[-1500:]
    assert counts <= {"1/2", "2/2"}, counts
