"""Read-side record types of the results database. Private to :mod:`lute.io.db`."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from lute._records import FrozenRecord
from lute.io.db._values import TERMINAL_STATUSES, decode_json, decode_payload

__all__ = [
    "EXECUTION_COLUMNS",
    "RESULT_COLUMNS",
    "ExecutionRecord",
    "ResultRecord",
    "execution_from_row",
    "result_from_row",
]


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
        error: Error text (a traceback) for failed executions.
        config_path: The YAML configuration it ran from.
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
        )

    @property
    def is_terminal(self) -> bool:
        """Whether the status is final (COMPLETED, FAILED, TIMEDOUT or CANCELLED)."""
        return self.status in TERMINAL_STATUSES


class ResultRecord(FrozenRecord):
    """One stored result item with its execution's identity and its TaskResult's payload.

    Immutable; hashable when ``payload`` is.

    Attributes:
        execution_id: Execution that produced it.
        task_name: Task class name.
        experiment: Experiment name, if any.
        run: Run as given, if any.
        position: Order of the item among the execution's results (0, 1, ...).
        kind: ``text``, ``number``, ``bool``, ``dict``, ``plots``, ``none`` or ``object``.
        summary: The item's text (see :func:`lute.io.db.format_summary`).
        payload: The TaskResult's payload: decoded JSON, or its ``repr`` text when it had no
            JSON form (then ``payload_type`` tells what it was). Shared by all items of one
            TaskResult.
        payload_type: Type name of the payload (``dict``, ``numpy.ndarray``), or ``None``.
        task_status: Status the Task reported with the result, if any.
        created: UTC ISO-8601 time the result was recorded.
        id: Row id of the item in the ``results`` table.
    """

    _FIELDS = (
        "execution_id",
        "task_name",
        "experiment",
        "run",
        "position",
        "kind",
        "summary",
        "payload",
        "payload_type",
        "task_status",
        "created",
        "id",
    )
    __slots__ = _FIELDS
    execution_id: int
    task_name: str
    experiment: Optional[str]
    run: Optional[str]
    position: int
    kind: str
    summary: str
    payload: Any
    payload_type: Optional[str]
    task_status: Optional[str]
    created: str
    id: int

    def __init__(
        self,
        execution_id: int,
        task_name: str,
        experiment: Optional[str],
        run: Optional[str],
        position: int,
        kind: str,
        summary: str,
        payload: Any,
        payload_type: Optional[str],
        task_status: Optional[str],
        created: str,
        id: int,
    ) -> None:
        self._set_fields(
            execution_id,
            task_name,
            experiment,
            run,
            position,
            kind,
            summary,
            payload,
            payload_type,
            task_status,
            created,
            id,
        )


EXECUTION_COLUMNS = ", ".join(ExecutionRecord._FIELDS)

RESULT_COLUMNS = (
    "execution_id, task_name, experiment, run, position, kind, summary, payload, "
    "payload_type, payload_encoding, task_status, created, id"
)


def execution_from_row(row: Sequence[Any]) -> ExecutionRecord:
    """Build from a row selected with :data:`EXECUTION_COLUMNS`."""
    values = list(row)
    for name in ("environment", "versions"):
        index = ExecutionRecord._FIELDS.index(name)
        values[index] = decode_json(values[index])
    return ExecutionRecord(*values)


def result_from_row(row: Sequence[Any]) -> ResultRecord:
    """Build from a row of ``result_view`` selected with :data:`RESULT_COLUMNS`."""
    (
        execution_id,
        task_name,
        experiment,
        run,
        position,
        kind,
        summary,
        payload,
        payload_type,
        encoding,
        task_status,
        created,
        row_id,
    ) = row
    return ResultRecord(
        execution_id=execution_id,
        task_name=task_name,
        experiment=experiment,
        run=run,
        position=position,
        kind=kind,
        summary=summary,
        payload=decode_payload(payload, encoding),
        payload_type=payload_type,
        task_status=task_status,
        created=created,
        id=row_id,
    )
