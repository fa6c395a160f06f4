"""The final-status rules of docs/architecture.md ("Outcome rules"), as a table.

``final_status`` is a pure function: no process is started here.
"""

from __future__ import annotations

import signal
from typing import Optional, Sequence, Tuple

import pytest

from lute.execution.outcome import EXIT_CODES, exit_code_for_status, final_status
from lute.tasks.dataclasses import TaskStatus

C, F, S, X, T = (
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.STOPPED,
    TaskStatus.CANCELLED,
    TaskStatus.TIMEDOUT,
)
TERM, INT, KILL, HUP = (
    int(signal.SIGTERM),
    int(signal.SIGINT),
    int(signal.SIGKILL),
    int(signal.SIGHUP),
)
LOST: Sequence[Tuple[int, int]] = ((1, 4242),)

# returncode, reported, timed_out, cancelled_by, lost, error before -> status, error contains
RULES = [
    # timed out wins over everything else, and says so (not what the Task made of it)
    (-TERM, None, True, None, (), None, T, "timed out; the process ended with killed by SIGTERM"),
    (0, C, True, INT, LOST, None, T, "timed out"),
    (130, X, True, None, (), "cancelled by SIGTERM", T, "timed out; the process ended with"),
    # then a cancellation by lute-exec, with the signal lute-exec received
    (-TERM, X, False, TERM, (), None, X, "cancelled: lute-exec received SIGTERM"),
    (0, C, False, INT, LOST, None, X, "cancelled: lute-exec received SIGINT"),
    (130, X, False, INT, (), "cancelled by SIGTERM", X, "lute-exec received SIGINT"),
    (-TERM, None, False, HUP, (), None, X, "lute-exec received SIGHUP"),
    # then a rank that died without a goodbye
    (0, C, False, None, LOST, None, F, "rank 1 (pid 4242) ended without closing its connection"),
    (-KILL, X, False, None, LOST, None, F, "killed by SIGKILL (killed)"),
    (1, F, False, None, LOST, "Traceback: boom", F, "Traceback: boom"),
    # then what the Task reported
    (0, C, False, None, (), None, C, None),
    (3, C, False, None, (), None, F, "reported success but its process ended with exit code 3"),
    (1, F, False, None, (), "Traceback: boom", F, "Traceback: boom"),
    (130, X, False, None, (), "cancelled by SIGTERM", X, "cancelled by SIGTERM"),
    (0, S, False, None, (), None, S, None),
    # a process stopped by a signal from elsewhere was cancelled, not broken
    (-TERM, None, False, None, (), None, X, "killed by SIGTERM (not sent by lute-exec)"),
    (-HUP, None, False, None, (), None, X, "killed by SIGHUP"),
    (-INT, None, False, None, (), None, X, "killed by SIGINT"),
    # otherwise FAILED, saying how the process ended
    (0, None, False, None, (), None, F, "ended (exit code 0) without reporting an outcome"),
    (-signal.SIGSEGV, None, False, None, (), None, F, "killed by SIGSEGV (segmentation fault)"),
    (-KILL, None, False, None, (), None, F, "killed by SIGKILL (killed)"),
    (2, None, False, None, (), "could not start", F, "could not start"),
]


@pytest.mark.parametrize(
    ("returncode", "reported", "timed_out", "cancelled_by", "lost", "before", "status", "error"),
    RULES,
)
def test_outcome_rules(
    returncode: int,
    reported: Optional[TaskStatus],
    timed_out: bool,
    cancelled_by: Optional[int],
    lost: Sequence[Tuple[int, int]],
    before: Optional[str],
    status: TaskStatus,
    error: Optional[str],
) -> None:
    got_status, got_error = final_status(
        timeout=None,
        returncode=returncode,
        reported=reported,
        timed_out=timed_out,
        cancelled_by=cancelled_by,
        lost=lost,
        error=before,
    )
    assert got_status is status
    if error is None:
        assert got_error is None
    else:
        assert got_error is not None and error in got_error


def test_exit_codes_follow_the_shell_conventions() -> None:
    assert {status: exit_code_for_status(status) for status in EXIT_CODES} == {
        C: 0,
        F: 1,
        S: 1,
        T: 124,
        X: 130,
    }
    assert exit_code_for_status(TaskStatus.RUNNING) == 1  # never a success by accident


def test_a_timeout_names_its_limit() -> None:
    status, error = final_status(returncode=-TERM, reported=X, timed_out=True, timeout=3.0)
    assert (status, error) == (
        T,
        "timed out after 3 s (task_timeout); the process ended with killed by SIGTERM",
    )


def test_a_result_this_side_cannot_read_fails_the_run() -> None:
    why = "the Task's result could not be read by the Executor: no module named numpy"
    assert final_status(returncode=0, reported=C, unreadable_result=why) == (F, why)
    # The Task's own failure stays what is recorded.
    failed = final_status(returncode=1, reported=F, error="Traceback", unreadable_result=why)
    assert failed == (F, "Traceback")


def test_a_slurm_time_limit_is_a_timeout_not_a_cancellation() -> None:
    status, error = final_status(
        returncode=130, reported=X, cancelled_by=TERM, slurm_time_limit=True
    )
    assert status is T and error is not None and "SLURM job reached its time limit" in error
    assert final_status(returncode=130, reported=X, cancelled_by=TERM)[0] is X  # scancel
