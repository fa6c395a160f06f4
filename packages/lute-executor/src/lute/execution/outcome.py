"""How a run ends: the final-status rules and the exit codes that reflect them.

:func:`final_status` is a pure function of what the Executor observed, so the rules
of ``docs/architecture.md`` ("Outcome rules") are tested as a table, without processes.
"""

from __future__ import annotations

import signal
from typing import Optional, Sequence, Tuple

from lute.execution.supervision import describe_exit
from lute.tasks.dataclasses import TaskStatus

__all__ = ["EXIT_CODES", "exit_code_for_status", "final_status"]

#: Exit codes of ``lute-exec run`` (and of ``execute_task``'s callers) per final status.
EXIT_CODES = {
    TaskStatus.COMPLETED: 0,
    TaskStatus.FAILED: 1,
    TaskStatus.STOPPED: 1,
    TaskStatus.TIMEDOUT: 124,
    TaskStatus.CANCELLED: 130,
}


def exit_code_for_status(status: TaskStatus) -> int:
    """The process exit code that reflects a Task's final status."""
    return EXIT_CODES.get(status, 1)


def final_status(
    *,
    returncode: int,
    reported: Optional[TaskStatus],
    timed_out: bool = False,
    cancelled_by: Optional[int] = None,
    lost: Sequence[Tuple[int, int]] = (),
    error: Optional[str] = None,
) -> Tuple[TaskStatus, Optional[str]]:
    """Decide a run's outcome from what the Task said and how its process(es) ended.

    The first rule that applies wins: timed out → TIMEDOUT; cancelled → CANCELLED; a
    Task process whose connection ended without a goodbye → FAILED (it died), unless a
    rank already reported FAILED; the reported status (COMPLETED with a non-zero exit
    becomes FAILED); otherwise FAILED with the exit code or signal.

    Args:
        returncode: Exit code of the Task's process (negative: killed by that signal).
        reported: The final status the Task reported, if any.
        timed_out: The Task was stopped at its deadline.
        cancelled_by: The signal that cancelled the run, if one did.
        lost: ``(rank, pid)`` of every Task process (MPI rank) whose connection ended
            without a goodbye.
        error: What was already known to have gone wrong (kept where a rule has no
            better explanation).

    Returns:
        The final status and the error text recorded with it (``None`` for none).
    """
    how = describe_exit(returncode)
    if timed_out:
        return TaskStatus.TIMEDOUT, error or "timed out; the process ended with %s" % how
    if cancelled_by is not None:
        return TaskStatus.CANCELLED, error or "cancelled by %s" % signal.Signals(cancelled_by).name
    if lost and reported != TaskStatus.FAILED:
        who = ", ".join("rank %d (pid %d)" % (rank, pid) for rank, pid in lost)
        return TaskStatus.FAILED, (
            "%s ended without closing its connection (killed or crashed); the process "
            "ended with %s" % (who, how)
        )
    if reported is not None:
        if reported == TaskStatus.COMPLETED and returncode != 0:
            return (
                TaskStatus.FAILED,
                "the Task reported success but its process ended with %s" % how,
            )
        return reported, error
    if returncode == 0:
        return TaskStatus.FAILED, "the Task's process ended (%s) without reporting an outcome" % how
    return TaskStatus.FAILED, error or "the Task's process ended with %s" % how
