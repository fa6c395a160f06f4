"""Reconciling the database with SLURM: the rules as a table, and SLURM's outputs read."""

from __future__ import annotations

from typing import Optional

import pytest

from lute.execution.slurm._client import JobState, parse_sacct, parse_squeue
from lute.execution.slurm._status import reconciled


def _job(state: str, reason: str = "None", exit_code: int = 0) -> JobState:
    return JobState("4242", 3, "4245", state, reason, exit_code, None, "squeue")


GONE = None
CASES = [
    # database status, SLURM job, -> new status (None: as it is), words of the reason
    ("QUEUED", _job("PENDING"), None, ""),
    ("QUEUED", _job("RUNNING"), None, ""),  # started, not yet claimed
    ("QUEUED", _job("CANCELLED"), "CANCELLED", "cancelled before it started"),
    (
        "QUEUED",
        _job("CANCELLED", "DependencyNeverSatisfied"),
        "CANCELLED",
        "a dependency that can never be met",
    ),
    ("QUEUED", _job("TIMEOUT"), "TIMEDOUT", "time limit before the run started"),
    (
        "QUEUED",
        _job("FAILED", exit_code=2),
        "FAILED",
        "ended before the run started (SLURM: FAILED (exit 2))",
    ),
    ("QUEUED", _job("COMPLETED"), "FAILED", "ended before the run started"),
    ("QUEUED", GONE, "LOST", "SLURM no longer knows job 4242_3"),
    ("QUEUED", _job("DROPPED"), "CANCELLED", "a pending task is dropped when it is cancelled"),
    ("RUNNING", _job("DROPPED"), "LOST", "no longer lists task 4242_3"),
    ("COMPLETED", _job("DROPPED"), None, ""),
    ("RUNNING", _job("RUNNING"), None, ""),
    ("RUNNING", _job("COMPLETING"), None, ""),
    ("RUNNING", _job("TIMEOUT"), "TIMEDOUT", "at its time limit"),
    ("RUNNING", _job("CANCELLED"), "CANCELLED", "recorded no end"),
    ("RUNNING", _job("FAILED", exit_code=1), "LOST", "lute-exec ended without recording"),
    ("RUNNING", _job("NODE_FAIL"), "LOST", "NODE_FAIL"),
    ("PENDING", GONE, "LOST", "recorded no end"),
    ("LOST", _job("TIMEOUT"), "TIMEDOUT", "at its time limit"),
    ("LOST", _job("FAILED"), None, ""),
    ("LOST", GONE, None, ""),
    ("CANCELLED", _job("TIMEOUT", "TimeLimit"), "TIMEDOUT", "the run saw only the SIGTERM"),
    ("CANCELLED", _job("CANCELLED"), None, ""),
    ("COMPLETED", _job("TIMEOUT"), None, ""),  # the Task's outcome stands
    ("COMPLETED", GONE, None, ""),
    ("FAILED", _job("FAILED"), None, ""),
    ("TIMEDOUT", _job("TIMEOUT"), None, ""),
]


@pytest.mark.parametrize(("status", "job", "expected", "words"), CASES)
def test_rules(status: str, job: Optional[JobState], expected: Optional[str], words: str) -> None:
    decided = reconciled(status, job, "4242_3")
    if expected is None:
        assert decided is None
    else:
        assert decided is not None and decided[0] == expected
        assert words in decided[1]


def test_a_queued_execution_without_a_job_is_lost_after_a_while() -> None:
    import datetime

    from lute.execution.slurm._status import UNSUBMITTED_AFTER, never_submitted

    created = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.timezone.utc)
    soon = created.timestamp() + 5
    assert never_submitted(created, soon) is None  # lute-exec submit may be at sbatch
    late = never_submitted(created, created.timestamp() + UNSUBMITTED_AFTER + 1)
    assert late == (
        "LOST",
        "queued at 2026-12-01T10:00:00+00:00 but never submitted (lute-exec submit ended "
        "before sbatch)",
    )


def test_squeue_output() -> None:
    text = (
        "4242|0|4243|COMPLETED|0|None|\n"
        "4242|1|4244|FAILED|512|NonZeroExitCode|\n"
        "4242|2|4242|PENDING|0|JobArrayTaskLimit|\n"
        "4250|N/A|4250|FAILED|9|JobLaunchFailure|\n"
        "\n"
    )
    states = parse_squeue(text)
    assert [s.key for s in states] == [("4242", 0), ("4242", 1), ("4242", 2), ("4250", None)]
    assert states[1].exit_code == 2 and states[1].signal is None
    assert states[1].describe() == "FAILED (exit 2)"
    assert states[2].describe() == "PENDING (JobArrayTaskLimit)" and states[2].active
    assert states[3].signal == 9 and states[3].describe() == "FAILED (signal 9)"
    assert states[0].task_job_id == "4243" and not states[0].active


def test_array_tasks_among_what_squeue_lists() -> None:
    from lute.execution.slurm._client import SlurmClient

    states = {
        s.key: s for s in parse_squeue("7|1|7|PENDING|0|JobHeldUser|\n8|N/A|8|CANCELLED|0|None|\n")
    }
    assert SlurmClient.job(states, "7", 1) == states[("7", 1)]
    assert SlurmClient.job(states, "7", 0).state == "DROPPED"  # type: ignore[union-attr]
    whole = SlurmClient.job(states, "8", 3)  # every pending task cancelled: one record
    assert whole is not None and (whole.key, whole.state) == (("8", 3), "CANCELLED")
    assert SlurmClient.job(states, "9", 0) is None
    assert SlurmClient.job(states, "8", None) == states[("8", None)]


def test_sacct_output() -> None:
    text = (
        "4242_0|4243|COMPLETED|0:0\n"
        "4242_1|4244|CANCELLED by 0|0:15\n"
        "4242_[2-9%2]|4242|PENDING|0:0\n"
        "4250|4250|TIMEOUT|0:0\n"
    )
    states = parse_sacct(text)
    assert [(s.key, s.state, s.signal) for s in states] == [
        (("4242", 0), "COMPLETED", None),
        (("4242", 1), "CANCELLED", 15),
        (("4250", None), "TIMEOUT", None),
    ]
    assert all(s.source == "sacct" for s in states)
