"""What ``sacct`` says once the controller forgot a job, on a cluster with accounting.

These run on the second one-node cluster (``scripts/slurm-accounting.sh``: slurmdbd and
MariaDB, ``MinJobAge=2``), selected by its ``SLURM_CONF``: a job ends, squeue forgets
it within seconds, and ``lute-exec status`` must then read the same end from sacct.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from lute.execution.slurm._client import SlurmClient, parse_sacct
from tests.conftest import SlurmCluster, lute_exec, write_config
from tests.slurm.helpers import TESTER, all_ended, executions, submit, wait_rows

pytestmark = pytest.mark.slurm


def wait_forgotten(cluster: SlurmCluster, job: str, timeout: float = 30.0) -> None:
    """Wait until squeue no longer lists ``job`` (MinJobAge after its end)."""
    deadline = time.monotonic() + timeout
    while cluster.states(job):
        assert time.monotonic() < deadline, "squeue still lists job %s after %g s" % (job, timeout)
        time.sleep(0.3)


def run_on(cluster: SlurmCluster, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of SLURM's commands on ``cluster``; it must succeed."""
    return subprocess.run(
        list(args), capture_output=True, text=True, env=cluster.environ(), check=True, timeout=60
    )


def status_json(cluster: SlurmCluster, job: str, work: Path) -> List[Dict[str, Any]]:
    """``lute-exec status JOB --json`` on ``cluster``: one object per execution."""
    shown = lute_exec(["status", job, "-w", str(work), "--json"], env=cluster.env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)  # type: ignore[no-any-return]


def test_only_the_accounting_cluster_has_accounting(
    slurm: SlurmCluster, slurm_acct: SlurmCluster
) -> None:
    assert SlurmClient(environ=slurm_acct.environ()).has_accounting()
    assert not SlurmClient().has_accounting()  # the cluster of scripts/slurm-local.sh


def test_a_completed_job_is_shown_from_sacct_once_squeue_forgot_it(
    slurm_acct: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(slurm_acct, ["-c", str(config), "-t", "Tester"], env=slurm_acct.env)
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    [row] = wait_rows(work, all_ended)
    assert row["status"] == "COMPLETED", row
    wait_forgotten(slurm_acct, job)
    shown = lute_exec(["status", job, "-w", str(work)], env=slurm_acct.env)
    assert shown.returncode == 0, shown.stderr
    line = shown.stdout.splitlines()[1].split()
    assert line[:5] == [str(row["id"]), job, "12", "COMPLETED", "COMPLETED"]
    assert "->" not in shown.stdout and "LOST" not in shown.stdout
    [listed] = status_json(slurm_acct, job, work)
    assert listed["status"] == "COMPLETED" and listed["change"] is None
    assert listed["slurm"]["source"] == "sacct"
    assert (listed["slurm"]["state"], listed["slurm"]["exit_code"]) == ("COMPLETED", 0)
    assert executions(work) == [row]  # nothing recorded over the run's own end


def test_pending_array_tasks_cancelled_by_scancel_are_recorded_cancelled_from_sacct(
    slurm_acct: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    args = ["-c", str(config), "-t", "Tester", "--runs", "1-3", "--", "--hold"]
    done = submit(slurm_acct, args, env=slurm_acct.env)
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    # One task first: SLURM drops it from the array; the two left end as one record,
    # which sacct lists as JOB_[0,2] once the controller forgot the array.
    run_on(slurm_acct, "scancel", "%s_1" % job)
    deadline = time.monotonic() + 30
    while len(slurm_acct.states(job)) != 2:
        assert time.monotonic() < deadline, slurm_acct.states(job)
        time.sleep(0.2)
    run_on(slurm_acct, "scancel", job)
    wait_forgotten(slurm_acct, job)
    assert [r["status"] for r in executions(work)] == ["QUEUED"] * 3
    sacct = run_on(
        slurm_acct, "sacct", "-n", "-P", "-X", "-j", job, "-o", "JobID,JobIDRaw,State,ExitCode"
    )
    assert sacct.stdout.split() == ["%s_[0,2]|%s|CANCELLED" % (job, job), "by", "0|0:0"]
    assert [s.key for s in parse_sacct(sacct.stdout)] == [(job, 0), (job, 2)]

    shown = lute_exec(["status", job, "-w", str(work)], env=slurm_acct.env)
    assert shown.returncode == 0, shown.stderr
    for execution in (1, 3):  # tasks 0 and 2
        assert (
            "execution %d: QUEUED -> CANCELLED: cancelled before it started (SLURM: CANCELLED)"
            % execution
            in shown.stdout
        ), shown.stdout
    assert (
        "execution 2: QUEUED -> CANCELLED: SLURM no longer lists task %s_1 in its array: a "
        "pending task is dropped when it is cancelled" % job in shown.stdout
    ), shown.stdout
    assert "LOST" not in shown.stdout
    rows = executions(work)
    assert [r["status"] for r in rows] == ["CANCELLED"] * 3
    assert "(SLURM: CANCELLED)" in rows[0]["error"] and "dropped" in rows[1]["error"]
    listed = status_json(slurm_acct, job, work)  # recorded: nothing more to change
    assert [r["change"] for r in listed] == [None] * 3
    assert [r["slurm"]["source"] for r in listed] == ["sacct"] * 3
    assert [r["slurm"]["state"] for r in listed] == ["CANCELLED", "DROPPED", "CANCELLED"]


def test_failed_jobs_read_the_same_from_sacct_as_from_squeue(slurm_acct: SlurmCluster) -> None:
    client = SlurmClient(environ=slurm_acct.environ())
    jobs = [
        run_on(
            slurm_acct, "sbatch", "--parsable", "-o", "/dev/null", "--wrap", command
        ).stdout.strip()
        for command in ("exit 3", "kill -9 $$")
    ]
    slurm_acct.track(*jobs)
    for job in jobs:
        slurm_acct.wait_ended(job)
    from_squeue = client.jobs(jobs)
    for job in jobs:
        wait_forgotten(slurm_acct, job)
    from_sacct = client.jobs(jobs)
    assert sorted(from_squeue) == sorted(from_sacct) == [(job, None) for job in jobs]
    for key, seen in from_squeue.items():
        later = from_sacct[key]
        assert (seen.source, later.source) == ("squeue", "sacct")
        assert (later.state, later.exit_code, later.signal, later.task_job_id) == (
            seen.state,
            seen.exit_code,
            seen.signal,
            seen.task_job_id,
        )
    assert [from_sacct[(job, None)].describe() for job in jobs] == [
        "FAILED (exit 3)",
        "FAILED (signal 9)",
    ]
