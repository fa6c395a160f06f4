"""Records of executions and submissions, and how rows become them. Private to ``lute.io.db``.

The records of what an execution produced (results, messages) are in
:mod:`lute.io.db._outputs`.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.io.db._values import TERMINAL_STATUSES, decode_json, utc_now

__all__ = [
    "EXECUTION_COLUMNS",
    "EXECUTION_SELECT",
    "ORIGIN",
    "STATUS_INDEX",
    "SUBMISSION_COLUMNS",
    "ExecutionRecord",
    "SubmissionRecord",
    "Verdict",
    "execution_from_row",
    "lost_error",
    "marked_not_valid",
    "parse_time",
    "row_verdict",
]


#: The ``kind`` of the ``environment`` record of an execution imported from an original
#: LUTE database (``import_original``).
ORIGIN = "original LUTE database"


def marked_not_valid(environment: Optional[Dict[str, Any]]) -> bool:
    """Whether an execution was imported from an original database that marked it not
    valid (``valid_flag`` 0), from its ``environment`` record."""
    return (
        environment is not None
        and environment.get("kind") == ORIGIN
        and environment.get("valid") is False
    )


class ExecutionRecord(FrozenRecord):
    """One row of the ``executions`` table (JSON columns decoded).

    Immutable and hashable (when ``environment`` and ``versions`` are ``None``).

    Attributes:
        id: Execution id (newer executions have higher ids).
        managed_task: Name of the managed task (Executor) that ran it.
        task_name: Name of the Task class.
        experiment: Experiment name, if any.
        run: Run as given (``"0012"`` or ``"12"``), if any.
        run_number: Integer value of ``run`` when it is numeric, else ``None``.
        status: PENDING, RUNNING, COMPLETED, FAILED, TIMEDOUT, CANCELLED or STOPPED.
        created: UTC ISO-8601 time the execution was recorded.
        started: UTC ISO-8601 time it first became RUNNING, if it did.
        ended: UTC ISO-8601 time it first reached a terminal status, if it did.
        exit_code: Exit code of the Task process, if known.
        signal: Name of the signal that ended the Task (``"SIGKILL"``), if any.
        host: Host the execution was recorded from.
        user: User who ran it.
        pid: Process id of the Task, if known.
        work_dir: Work directory.
        environment: Interpreter, environment kind, ... (decoded JSON).
        versions: Versions of LUTE, Python, pydantic, ... (decoded JSON).
        error: Error text (a traceback) for failed executions; for a LOST one, why.
        config_path: The YAML configuration it ran from.
        supervisor_host: Host of the Executor process that supervises it.
        supervisor_pid: Pid of that Executor process.
        supervisor_start: UTC ISO-8601 time that Executor process started, if known.
        heartbeat: UTC ISO-8601 time of that Executor's last heartbeat.
        messages_received: Messages the Executor received from the Task.
        messages_dropped: Of those, how many were not stored (a cap applied).
        log_path: The run's log file, if recorded.
        report_path: The run's report, if recorded.
        warnings: Non-fatal problems of the run, oldest first.
        submission_id: The SLURM submission it belongs to, if any.
        slurm_job_id: SLURM job id (of the array, for an array task), if any.
        slurm_array_index: Index in the SLURM job array, if any.
        rerun_of: The execution this one runs again (``lute-exec rerun``), if any.

    Besides the columns: ``created_at``, ``started_at``, ``ended_at`` and
    ``heartbeat_at`` give the times as timezone-aware UTC datetimes, ``duration`` the
    seconds from start to end.

    A PENDING, RUNNING or STOPPED execution whose Executor is gone is read as LOST (see
    ``Database.execution``): ``status`` LOST, ``error`` saying why, ``ended`` its last
    heartbeat.
    """

    # The table's columns in __init__ order. EXECUTION_COLUMNS (the SELECT list) and
    # execution_from_row (which JSON columns to decode) both read this tuple, so a new
    # column goes here, and into the annotations and __init__ below in the same order.
    _FIELDS = (
        "id",
        "managed_task",
        "task_name",
        "experiment",
        "run",
        "run_number",
        "status",
        "created",
        "started",
        "ended",
        "exit_code",
        "signal",
        "host",
        "user",
        "pid",
        "work_dir",
        "environment",
        "versions",
        "error",
        "config_path",
        "supervisor_host",
        "supervisor_pid",
        "supervisor_start",
        "heartbeat",
        "messages_received",
        "messages_dropped",
        "log_path",
        "report_path",
        "warnings",
        "submission_id",
        "slurm_job_id",
        "slurm_array_index",
        "rerun_of",
    )
    __slots__ = _FIELDS
    id: int
    managed_task: str
    task_name: str
    experiment: Optional[str]
    run: Optional[str]
    run_number: Optional[int]
    status: str
    created: str
    started: Optional[str]
    ended: Optional[str]
    exit_code: Optional[int]
    signal: Optional[str]
    host: Optional[str]
    user: Optional[str]
    pid: Optional[int]
    work_dir: Optional[str]
    environment: Optional[Dict[str, Any]]
    versions: Optional[Dict[str, Any]]
    error: Optional[str]
    config_path: Optional[str]
    supervisor_host: Optional[str]
    supervisor_pid: Optional[int]
    supervisor_start: Optional[str]
    heartbeat: Optional[str]
    messages_received: int
    messages_dropped: int
    log_path: Optional[str]
    report_path: Optional[str]
    warnings: Tuple[str, ...]
    submission_id: Optional[int]
    slurm_job_id: Optional[int]
    slurm_array_index: Optional[int]
    rerun_of: Optional[int]

    def __init__(
        self,
        id: int,
        managed_task: str,
        task_name: str,
        experiment: Optional[str],
        run: Optional[str],
        run_number: Optional[int],
        status: str,
        created: str,
        started: Optional[str],
        ended: Optional[str],
        exit_code: Optional[int],
        signal: Optional[str],
        host: Optional[str],
        user: Optional[str],
        pid: Optional[int],
        work_dir: Optional[str],
        environment: Optional[Dict[str, Any]],
        versions: Optional[Dict[str, Any]],
        error: Optional[str],
        config_path: Optional[str],
        supervisor_host: Optional[str] = None,
        supervisor_pid: Optional[int] = None,
        supervisor_start: Optional[str] = None,
        heartbeat: Optional[str] = None,
        messages_received: int = 0,
        messages_dropped: int = 0,
        log_path: Optional[str] = None,
        report_path: Optional[str] = None,
        warnings: Tuple[str, ...] = (),
        submission_id: Optional[int] = None,
        slurm_job_id: Optional[int] = None,
        slurm_array_index: Optional[int] = None,
        rerun_of: Optional[int] = None,
    ) -> None:
        self._set_fields(
            id,
            managed_task,
            task_name,
            experiment,
            run,
            run_number,
            status,
            created,
            started,
            ended,
            exit_code,
            signal,
            host,
            user,
            pid,
            work_dir,
            environment,
            versions,
            error,
            config_path,
            supervisor_host,
            supervisor_pid,
            supervisor_start,
            heartbeat,
            messages_received,
            messages_dropped,
            log_path,
            report_path,
            warnings,
            submission_id,
            slurm_job_id,
            slurm_array_index,
            rerun_of,
        )

    @property
    def is_terminal(self) -> bool:
        """Whether the status is final (COMPLETED, FAILED, TIMEDOUT, CANCELLED or LOST)."""
        return self.status in TERMINAL_STATUSES

    @property
    def created_at(self) -> datetime.datetime:
        """``created`` as a timezone-aware UTC datetime."""
        return datetime.datetime.fromisoformat(self.created)

    @property
    def started_at(self) -> Optional[datetime.datetime]:
        """``started`` as a timezone-aware UTC datetime, if it started."""
        return parse_time(self.started)

    @property
    def ended_at(self) -> Optional[datetime.datetime]:
        """``ended`` as a timezone-aware UTC datetime, if it ended."""
        return parse_time(self.ended)

    @property
    def heartbeat_at(self) -> Optional[datetime.datetime]:
        """``heartbeat`` as a timezone-aware UTC datetime, if there was one."""
        return parse_time(self.heartbeat)

    @property
    def duration(self) -> Optional[float]:
        """Seconds from ``started`` to ``ended``; ``None`` unless both are known."""
        if self.started is None or self.ended is None:
            return None
        return (parse_time(self.ended) - parse_time(self.started)).total_seconds()  # type: ignore[operator]

    def to_dict(self) -> Dict[str, Any]:
        """A plain dict of the fields (JSON-compatible), plus ``duration``."""
        out = super().to_dict()
        out["duration"] = self.duration
        return out


EXECUTION_COLUMNS = ", ".join(ExecutionRecord._FIELDS)
# What the reader selects: the record's columns, then what decides whether it is LOST.
EXECUTION_SELECT = EXECUTION_COLUMNS + ", supervisor_key"

_N = len(ExecutionRecord._FIELDS)
_STATUS, _ENDED, _ERROR = (ExecutionRecord._FIELDS.index(n) for n in ("status", "ended", "error"))
STATUS_INDEX = _STATUS  # where a selected row holds its stored status
_HOST, _PID, _BEAT = (
    ExecutionRecord._FIELDS.index(n) for n in ("supervisor_host", "supervisor_pid", "heartbeat")
)
_JSON = tuple(ExecutionRecord._FIELDS.index(n) for n in ("environment", "versions"))
_WARNINGS = ExecutionRecord._FIELDS.index("warnings")

# (status, supervisor host, pid, key, heartbeat text) -> why it is LOST, or None.
Verdict = Callable[[str, Optional[str], Optional[int], Optional[str], Optional[str]], Optional[str]]


def parse_time(text: Optional[str]) -> Optional[datetime.datetime]:
    """A stored time as a timezone-aware datetime; ``None`` stays ``None``."""
    return None if text is None else datetime.datetime.fromisoformat(text)


def lost_error(error: Optional[str], reason: str) -> str:
    """The error of an execution found LOST: its error so far, then why."""
    return reason if not error else f"{error}\n{reason}"


def row_verdict(row: Sequence[Any], verdict: Verdict) -> Optional[str]:
    """Why the execution of a row selected with :data:`EXECUTION_SELECT` is LOST, or None."""
    return verdict(row[_STATUS], row[_HOST], row[_PID], row[_N], row[_BEAT])


def execution_from_row(
    row: Sequence[Any], verdict: Optional[Verdict] = None, *, reason: Optional[str] = None
) -> ExecutionRecord:
    """Build from a row selected with :data:`EXECUTION_COLUMNS`, or with
    :data:`EXECUTION_SELECT` and a ``verdict`` (or its ``reason``, found already) that
    says whether the execution is LOST."""
    values = list(row[:_N])
    for index in _JSON:
        values[index] = decode_json(values[index])
    values[_WARNINGS] = tuple(decode_json(values[_WARNINGS]) or ())
    if verdict is not None and reason is None:
        reason = row_verdict(row, verdict)
    if reason is not None:
        # As the next write will record it (see _lost.record_lost).
        values[_STATUS] = "LOST"
        values[_ERROR] = lost_error(values[_ERROR], reason)
        values[_ENDED] = values[_ENDED] or values[_BEAT] or utc_now()
    return ExecutionRecord(*values)


class SubmissionRecord(FrozenRecord):
    """One submission to SLURM: the executions queued together (``Database.queue_execution``).

    Attributes:
        id: Submission id.
        created: UTC ISO-8601 time it was recorded.
        resubmission_of: The submission whose unfinished executions this one runs again.
        host: Host it was submitted from.
        user: User who submitted it.
        description: Free text given at submission (e.g. the command line).
    """

    _FIELDS = ("id", "created", "resubmission_of", "host", "user", "description")
    __slots__ = _FIELDS
    id: int
    created: str
    resubmission_of: Optional[int]
    host: Optional[str]
    user: Optional[str]
    description: Optional[str]

    def __init__(
        self,
        id: int,
        created: str,
        resubmission_of: Optional[int],
        host: Optional[str],
        user: Optional[str],
        description: Optional[str],
    ) -> None:
        self._set_fields(id, created, resubmission_of, host, user, description)


SUBMISSION_COLUMNS = ", ".join(SubmissionRecord._FIELDS)
