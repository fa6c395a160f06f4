"""Faults on the one-node cluster: a failing task and its resubmission, cancellations, a job
that never ran its run, a job SLURM forgot, options SLURM rejects, no controller."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, List, Sequence

import pytest

from tests.conftest import SlurmCluster, lute_exec, write_config
from tests.slurm.helpers import TESTER, all_ended, executions, submit, wait_rows

if TYPE_CHECKING:
    from lute.io.db import Database

pytestmark = pytest.mark.slurm


def test_a_failed_run_is_resubmitted_alone_and_linked(slurm: SlurmCluster, short_tmp: Path) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    work.mkdir()
    for run in (1, 3):  # run 2's input is not there yet
        (work / ("input_r%d.txt" % run)).write_text("1.0\n2.0\n")
    done = submit(slurm, ["-c", str(config), "-t", "ReadTester", "--runs", "1-3", "--", "-s"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    rows = wait_rows(work, all_ended)
    assert [r["status"] for r in rows] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert "No such file or directory" in rows[1]["error"]
    (work / "input_r2.txt").write_text("3.0\n")
    slurm.wait_ended(job)
    again = lute_exec(["resubmit", job, "-w", str(work)])
    assert again.returncode == 0, again.stderr
    [second] = again.stdout.split()
    slurm.track(second)
    assert "FAILED" in again.stderr and "run again ReadTester, 1 execution" not in again.stderr
    assert (
        "submitted again ReadTester, 1 execution as job %s (submission 2)" % second in again.stderr
    )
    rows = wait_rows(work, lambda rows: len(rows) == 4 and all_ended(rows))
    assert rows[3]["status"] == "COMPLETED" and rows[3]["run"] == "2"
    assert (rows[3]["submission_id"], rows[3]["slurm_job_id"]) == (2, int(second))
    assert rows[3]["slurm_array_index"] is None  # one point: a plain job
    assert (work / "slurm" / ("ReadTester_TST12345_r2_%s.out" % second)).exists()
    from lute.io.db import Database

    with Database(str(work / "lute.db"), readonly=True) as db:
        assert db.submission(2).resubmission_of == 1
    slurm.wait_ended(second)
    for target in (job, second):  # the chain is judged as a whole: nothing left to do
        nothing = lute_exec(["resubmit", target, "-w", str(work)])
        assert nothing.returncode == 0 and nothing.stdout == ""
        assert "nothing to resubmit: 3 of 3 completed" in nothing.stderr


def test_a_resubmission_takes_overrides_that_fix_the_original_command_line(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    """An override of the submission failed every run: the config alone cannot fix it."""
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    args = ["-c", str(config), "-t", "Tester", "--runs", "1-2", "Test.throw_error=true"]
    done = submit(slurm, [*args, "Test.str_var=kept"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    assert [r["status"] for r in wait_rows(work, all_ended)] == ["FAILED", "FAILED"]
    slurm.wait_ended(job)
    again = lute_exec(["resubmit", job, "-w", str(work), "Test.throw_error=false"])
    assert again.returncode == 0, again.stderr
    [second] = again.stdout.split()
    slurm.track(second)
    rows = wait_rows(work, lambda rows: len(rows) == 4 and all_ended(rows))
    assert [r["status"] for r in rows[2:]] == ["COMPLETED", "COMPLETED"]
    [script] = [p for p in (work / "slurm").glob("*_s2.sh")]
    [command] = [line for line in script.read_text().splitlines() if line.startswith("exec ")]
    assert " Test.str_var=kept Test.throw_error=false " in command, command
    assert "throw_error=true" not in command
    slurm.wait_ended(second)
    nothing = lute_exec(["resubmit", "--submission", "1", "Test.x=1", "-w", str(work)])
    assert nothing.returncode == 0 and "nothing to resubmit: 2 of 2 completed" in nothing.stderr


def test_scancel_of_a_running_job_is_recorded_cancelled(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(slurm, ["-c", str(config), "-t", "Tester", "Test.sleep_seconds=60"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    wait_rows(work, lambda rows: rows[0]["status"] == "RUNNING")
    started = time.monotonic()
    cancelled = lute_exec(["cancel", job, "-w", str(work)])
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == (
        "scancel %s: 0 not started (recorded CANCELLED), 1 running (they record their end), "
        "0 ended already" % job
    )
    [row] = wait_rows(work, all_ended, timeout=40)
    assert row["status"] == "CANCELLED", row
    assert time.monotonic() - started < 20  # not the 30 s of SIGKILL after KillWait
    assert slurm.wait_ended(job) == ["CANCELLED"]
    log = (work / "slurm" / ("Tester_TST12345_r12_%s.out" % job)).read_text()
    assert "received SIGTERM from SLURM (SLURM signals the Task too)" in log
    shown = lute_exec(["status", job, "-w", str(work)])
    assert shown.stdout.splitlines()[1].split()[3:5] == ["CANCELLED", "CANCELLED"]
    assert "->" not in shown.stdout  # nothing to correct


def test_pending_jobs_cancelled_by_lute_exec_or_by_scancel(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(slurm, ["-c", str(config), "-t", "Tester", "--runs", "1-2", "--", "--hold"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    cancelled = lute_exec(["cancel", "%s_0" % job, "-w", str(work)])
    assert cancelled.returncode == 0, cancelled.stderr
    assert "1 not started (recorded CANCELLED)" in cancelled.stdout
    rows = executions(work)
    assert [r["status"] for r in rows] == ["CANCELLED", "QUEUED"]
    assert "cancelled with lute-exec cancel before it started" in rows[0]["error"]
    subprocess.run(["scancel", "%s_1" % job], check=True, timeout=60)
    slurm.wait_ended(job)
    shown = lute_exec(["status", job, "-w", str(work)])
    assert shown.returncode == 0, shown.stderr
    assert (
        "execution 2: QUEUED -> CANCELLED: cancelled before it started (SLURM: CANCELLED)"
        in shown.stdout
    )
    assert [r["status"] for r in executions(work)] == ["CANCELLED", "CANCELLED"]


def test_a_job_that_cannot_start_its_run_records_why(slurm: SlurmCluster, short_tmp: Path) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(slurm, ["-c", str(config), "-t", "Tester", "--", "--hold"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    config.unlink()  # lute-exec run cannot even read it
    subprocess.run(["scontrol", "release", job], check=True, timeout=60)
    assert slurm.wait_ended(job) == ["FAILED"]
    [row] = executions(work)
    assert row["status"] == "FAILED"
    assert "the job did not start the run" in row["error"] and str(config) in row["error"]
    shown = lute_exec(["status", job, "-w", str(work)])
    assert shown.stdout.splitlines()[1].split()[3:6] == ["FAILED", "(exit", "2)"]
    assert "->" not in shown.stdout


def test_a_job_that_ended_before_lute_exec_ran_is_failed(
    slurm: SlurmCluster, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lute.execution.slurm import SubmitRequest, prepare
    from lute.execution.slurm import submit as sbatch

    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    prepared = prepare(SubmitRequest(str(config), "Tester"))
    monkeypatch.setattr(sys, "executable", str(short_tmp / "no-python"))  # in the script
    done = sbatch(prepared)
    slurm.track(*done.job_ids)
    [job] = done.job_ids
    assert slurm.wait_ended(job) == ["FAILED"]
    assert executions(work)[0]["status"] == "QUEUED"  # nothing ran to say otherwise
    shown = lute_exec(["status", "--submission", "1", "-w", str(work)])
    assert (
        "execution 1: QUEUED -> FAILED: job %s ended before the run started (SLURM: FAILED "
        "(exit 127)); see its log" % job in shown.stdout
    )
    assert executions(work)[0]["status"] == "FAILED"


def queue_by_hand(db: Database, jobs: Sequence[int]) -> List[int]:
    """One QUEUED Tester execution per job, in one submission, as if submitted; their ids."""
    submission = db.create_submission(description="by hand")
    return [
        db.queue_execution(
            managed_task="Tester",
            task_name="Test",
            experiment="TST12345",
            run=12,
            parameters={},
            submission_id=submission,
            slurm_job_id=job,
        ).execution_id
        for job in jobs
    ]


def test_a_job_slurm_does_not_know_is_lost(slurm: SlurmCluster, short_tmp: Path) -> None:
    from lute.io.db import Database

    work = short_tmp / "work"
    work.mkdir()
    with Database(str(work / "lute.db")) as db:
        queue_by_hand(db, [987654321])
    shown = lute_exec(["status", "987654321", "-w", str(work)])
    assert shown.returncode == 0, shown.stderr
    assert "execution 1: QUEUED -> LOST: SLURM no longer knows job 987654321" in shown.stdout
    assert executions(work)[0]["status"] == "LOST"
    cancel = lute_exec(["cancel", "987654321", "-w", str(work)])
    assert cancel.returncode == 0, cancel.stderr
    assert (
        "0 not started (recorded CANCELLED), 0 running (they record their end), 1 ended"
        in cancel.stdout
    )


def test_an_option_slurm_rejects_gives_slurm_s_message(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(
        slurm, ["-c", str(config), "-t", "Tester", "--runs", "1-3", "--", "--partition=nope"]
    )
    assert done.returncode == 2
    assert "sbatch failed (exit 1): sbatch: error: invalid partition specified: nope" in done.stderr
    assert "nothing was submitted" in done.stderr
    assert done.stdout == ""
    assert executions(work) == []
    assert list((work / "slurm").glob("*.sh")) == []


def test_no_controller_is_a_clear_error(slurm_cluster: SlurmCluster, short_tmp: Path) -> None:
    conf = short_tmp / "slurm.conf"
    text = Path("/etc/slurm/slurm.conf").read_text()
    conf.write_text(
        text.replace("SlurmctldHost=localhost", "SlurmctldHost=localhost\nSlurmctldPort=1")
    )
    config = write_config(short_tmp, TESTER)
    done = submit(None, ["-c", str(config), "-t", "Tester"], env={"SLURM_CONF": str(conf)})
    assert done.returncode == 2
    assert "Unable to contact slurm controller" in done.stderr
    assert executions(short_tmp / "work") == []


def test_cancel_and_status_keep_an_end_recorded_after_they_read_the_row(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    """Both decide from rows read before asking SLURM; a job that claimed its QUEUED row
    and ended in between keeps the end it recorded."""
    from lute.execution.slurm import cancel, status
    from lute.io.db import Database

    failed = subprocess.run(
        ["sbatch", "--parsable", "--oversubscribe", "-o", "/dev/null", "--wrap", "exit 3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    slurm.track(failed)
    assert slurm.wait_ended(failed) == ["FAILED"]
    work = short_tmp / "work"
    work.mkdir()
    with Database(str(work / "lute.db")) as db:
        ids = queue_by_hand(db, [987654321, int(failed)])
        stale = [db.execution(execution_id) for execution_id in ids]  # both QUEUED
        for execution_id in ids:  # each job's run claims its row and completes
            db.claim_queued(execution_id)
            db.set_status(execution_id, "COMPLETED")
        done = cancel(db, stale[:1])  # SLURM no longer knows 987654321
        assert (done.cancelled, done.stopping, done.finished) == ((), (), (ids[0],))
        [row], warning = status(db, stale[1:])  # SLURM says FAILED: it would have won
        assert warning is None and row.slurm is not None and row.slurm.state == "FAILED"
        assert (row.change, row.execution.status) == (None, "COMPLETED")
        assert [db.execution(i).status for i in ids] == ["COMPLETED", "COMPLETED"]
