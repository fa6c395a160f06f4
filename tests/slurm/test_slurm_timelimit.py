"""A job reaching its time limit is TIMEDOUT, not CANCELLED (one 60-100 s job for the module).

SLURM ends a job at its limit as ``scancel`` does: SIGTERM to every process at once,
SIGKILL 30 s later. What tells the two apart dependably is SLURM's own verdict: the job's
reason TimeLimit, which the run inside the job asks for when the SIGTERM arrives
(``squeue -j $SLURM_JOB_ID -o %r``, ``None`` for scancel) and records TIMEDOUT, and its
final state TIMEOUT, from which ``lute-exec status`` records TIMEDOUT if the run could
not.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from tests.conftest import SlurmCluster, lute_exec, write_config
from tests.slurm.helpers import TESTER, all_ended, executions, submit, wait_rows

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def timed_out(slurm_cluster: SlurmCluster) -> Iterator[Dict[str, Any]]:
    """A Tester job of a minute's limit that would sleep five, once SLURM ended it."""
    with tempfile.TemporaryDirectory(prefix="lute-", dir="/tmp") as tmp:
        config = write_config(Path(tmp), TESTER, timeout=600)
        work = Path(tmp) / "work"
        done = submit(
            slurm_cluster,
            ["-c", str(config), "-t", "Tester", "Test.sleep_seconds=300", "--", "--time=1"],
        )
        assert done.returncode == 0, done.stderr
        [job] = done.stdout.split()
        started = time.monotonic()
        states = slurm_cluster.wait_ended(job, timeout=200)
        ended = time.monotonic() - started
        # The run's own record, before anything reconciles it.
        [row] = wait_rows(work, all_ended, timeout=40)
        log = (work / "slurm" / ("Tester_TST12345_r12_%s.out" % job)).read_text()
        yield {"job": job, "work": work, "states": states, "row": row, "log": log, "seconds": ended}
        slurm_cluster.cancel_tracked()


def test_status_agrees_with_slurm_s_verdict(timed_out: Dict[str, Any]) -> None:
    assert timed_out["states"] == ["TIMEOUT"]
    assert 55 < timed_out["seconds"] < 130
    assert "DUE TO TIME LIMIT" in timed_out["log"]  # slurmstepd's own line
    assert "received SIGTERM from the job's time limit" in timed_out["log"]
    work, job = timed_out["work"], timed_out["job"]
    shown = lute_exec(["status", job, "-w", str(work)])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1].split()[3:5] == ["TIMEOUT", "TIMEDOUT"]
    [row] = executions(work)
    assert row["status"] == "TIMEDOUT"
    assert "time limit" in row["error"]
    again = lute_exec(["status", job, "-w", str(work)])
    assert "->" not in again.stdout  # recorded once


def test_the_run_itself_records_timedout(timed_out: Dict[str, Any]) -> None:
    row = timed_out["row"]
    assert row["status"] == "TIMEDOUT", row
    assert "time limit" in row["error"]
