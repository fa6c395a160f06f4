"""How a run ends: the final-status rules and the exit codes that reflect them.

:func:`final_status` is a pure function of what the Executor observed, so the rules
of ``docs/architecture.md`` ("Outcome rules") are tested as a table, without processes.
"""

from __future__ import annotations

import signal
from typing import Optional, Sequence, Tuple

from lute.tasks.dataclasses import TaskStatus

__all__ = [
    "EXIT_CANCELLED",
    "EXIT_CODES",
    "EXIT_CODE_TABLE",
    "EXIT_INTERNAL",
    "EXIT_USAGE",
    "describe_exit",
    "exit_code_for_status",
    "final_status",
]

#: Exit codes of ``lute-exec run`` (and of ``execute_task``'s callers) per final status.
EXIT_CODES = {
    TaskStatus.COMPLETED: 0,
    TaskStatus.FAILED: 1,
    TaskStatus.STOPPED: 1,
    TaskStatus.TIMEDOUT: 124,
    TaskStatus.CANCELLED: 130,
}


# Signals that ask a process to stop: a Task killed by one was cancelled, not broken.
_CANCEL_SIGNALS = (int(signal.SIGTERM), int(signal.SIGINT), int(signal.SIGHUP))


#: Bad usage, an invalid config, an unknown name, an unusable environment or database.
EXIT_USAGE = 2
#: lute-exec (or a plug-in) failed in a way it does not expect: a bug.
EXIT_INTERNAL = 3
#: Cancelled (also before the Task ran, when nothing was recorded).
EXIT_CANCELLED = 130

#: Every exit code of ``lute-exec``, for ``--help`` and the docs.
EXIT_CODE_TABLE = (
    (0, "COMPLETED (run); success (every other command)"),
    (1, "FAILED: the Task failed, or stopped without completing"),
    (
        EXIT_USAGE,
        "bad usage, an invalid config, an unknown name, or an unusable environment or "
        "database: nothing was recorded",
    ),
    (EXIT_INTERNAL, "internal error of lute-exec or of a plug-in (a bug; the traceback is saved)"),
    (124, "TIMEDOUT: the Task ran past its timeout"),
    (
        EXIT_CANCELLED,
        "CANCELLED: Ctrl-C, SIGTERM or SIGHUP (before the Task ran: nothing recorded)",
    ),
)


def describe_exit(returncode: int) -> str:
    """Words for a process's exit: ``exit code 3`` or ``killed by SIGSEGV (segfault)``."""
    if returncode >= 0:
        return "exit code %d" % returncode
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "signal %d" % -returncode
    notes = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed)", "SIGABRT": " (aborted)"}
    return "killed by %s%s" % (name, notes.get(name, ""))


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
    timeout: Optional[float] = None,
    unreadable_result: Optional[str] = None,
    slurm_time_limit: bool = False,
) -> Tuple[TaskStatus, Optional[str]]:
    """Decide a run's outcome from what the Task said and how its process(es) ended.

    The first rule that applies wins: timed out (the run's deadline, or the SLURM job's
    time limit) → TIMEDOUT; cancelled by lute-exec →
    CANCELLED; a Task process whose connection ended without a goodbye → FAILED (it
    died), unless a rank already reported FAILED; a result this side could not unpickle
    → FAILED (unless the Task failed itself); the reported status (COMPLETED with a
    non-zero exit becomes FAILED); a process killed by SIGTERM, SIGINT or SIGHUP from
    elsewhere → CANCELLED; otherwise FAILED with the exit code or signal. A timeout or a
    cancellation is recorded with its real cause, not with what the Task made of the
    SIGTERM that stopped it.

    Args:
        returncode: Exit code of the Task's process (negative: killed by that signal).
        reported: The final status the Task reported, if any.
        timed_out: The Task was stopped at its deadline.
        cancelled_by: The signal to lute-exec that cancelled the run, if one did.
        lost: ``(rank, pid)`` of every Task process (MPI rank) whose connection ended
            without a goodbye.
        error: What was already known to have gone wrong (kept where a rule has no
            better explanation).
        timeout: The deadline, in seconds (for the message of a timed-out run).
        unreadable_result: Why a result the Task sent could not be unpickled here, if one
            could not: such a run is never COMPLETED (its result would be lost silently).
        slurm_time_limit: The cancelling signal came from the SLURM job's time limit.

    Returns:
        The final status and the error text recorded with it (``None`` for none).
    """
    how = describe_exit(returncode)
    if timed_out:
        limit = "" if timeout is None else " after %g s (task_timeout)" % timeout
        return TaskStatus.TIMEDOUT, "timed out%s; the process ended with %s" % (limit, how)
    if cancelled_by is not None and slurm_time_limit:
        return TaskStatus.TIMEDOUT, (
            "timed out: the SLURM job reached its time limit; the process ended with %s" % how
        )
    if cancelled_by is not None:
        return (
            TaskStatus.CANCELLED,
            "cancelled: lute-exec received %s; the process ended with %s"
            % (
                signal.Signals(cancelled_by).name,
                how,
            ),
        )
    if lost and reported != TaskStatus.FAILED:
        who = ", ".join("rank %d (pid %d)" % (rank, pid) for rank, pid in lost)
        return TaskStatus.FAILED, (
            "%s ended without closing its connection (killed or crashed); the process "
            "ended with %s" % (who, how)
        )
    if unreadable_result is not None and reported != TaskStatus.FAILED:
        return TaskStatus.FAILED, unreadable_result
    if reported is not None:
        if reported == TaskStatus.COMPLETED and returncode != 0:
            return (
                TaskStatus.FAILED,
                "the Task reported success but its process ended with %s" % how,
            )
        return reported, error
    if -returncode in _CANCEL_SIGNALS:
        return TaskStatus.CANCELLED, "the Task's process was %s (not sent by lute-exec)" % how
    if returncode == 0:
        return TaskStatus.FAILED, "the Task's process ended (%s) without reporting an outcome" % how
    return TaskStatus.FAILED, error or "the Task's process ended with %s" % how
