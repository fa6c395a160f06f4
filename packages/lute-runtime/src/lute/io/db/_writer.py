"""The writer side of :class:`lute.io.db.Database`: an execution's life. Private.

:class:`WriterMixin` records an execution with its parameters and its supervising
Executor (:meth:`~WriterMixin.start_execution`), its status changes
(:meth:`~WriterMixin.set_status`), the Executor's heartbeat, its log and report paths,
and records executions whose Executor is gone (:meth:`~WriterMixin.mark_lost`). What a
run produces (results, messages, warnings) is :mod:`lute.io.db._output_writer`'s; SLURM
submissions are :mod:`lute.io.db._queue`'s. Each call checks its arguments first, then
writes in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Union

from lute.io.db._arguments import (
    RunLike,
    StatusLike,
    execution_key,
    json_column,
    optional_int,
    optional_text,
    required_name,
    signal_name,
)
from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._lost import Lost, find_lost, record_lost
from lute.io.db._supervision import Supervisor, host_name, this_process
from lute.io.db._values import (
    SUPERVISED_STATUSES,
    TERMINAL_STATUSES,
    dump_json,
    flatten_parameters,
    normalise_status,
    run_columns,
    to_json_data,
    utc_now,
)

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.parameters import RowIds

__all__ = [
    "ExecutionRow",
    "ParameterRows",
    "WriterMixin",
    "current_user",
    "insert_execution",
    "lost_to_record",
    "replace_parameters",
    "supervisor_columns",
]


def current_user() -> Optional[str]:
    """The login name, or ``None`` where there is none (some containers)."""
    import getpass  # once per run: not worth its import (termios, ...) up front

    try:
        return getpass.getuser()
    except Exception:  # no login name and no passwd entry
        return None


def supervisor_columns(supervisor: Optional[Supervisor]) -> Dict[str, Any]:
    """The ``supervisor_*`` columns for ``supervisor`` (default: this process)."""
    if supervisor is None:
        supervisor = this_process()
    elif not isinstance(supervisor, Supervisor):
        raise DatabaseError(f"supervisor must be a Supervisor, got {supervisor!r}")
    return {
        "supervisor_host": supervisor.host,
        "supervisor_pid": supervisor.pid,
        "supervisor_start": supervisor.started,
        "supervisor_key": supervisor.key,
    }


class ExecutionRow:
    """An execution's checked columns and parameter rows, ready to insert.

    Shared by ``start_execution`` and ``queue_execution``, which check the same arguments.
    """

    def __init__(
        self,
        *,
        managed_task: Any,
        task_name: Any,
        experiment: Any,
        run: Any,
        parameters: Any,
        work_dir: Any,
        host: Any,
        environment: Any,
        versions: Any,
        config_path: Any,
        log_path: Any,
        report_path: Any,
    ) -> None:
        run_text, run_number = run_columns(run)
        model = to_json_data(parameters, "")
        if not isinstance(model, dict):
            raise DatabaseError(
                "parameters must be a mapping of parameter names to values, got "
                + type(parameters).__name__
            )
        self.task_name = required_name(task_name, "task_name")
        self.columns: Dict[str, Any] = {
            "managed_task": required_name(managed_task, "managed_task"),
            "task_name": self.task_name,
            "experiment": optional_text(experiment, "experiment"),
            "run": run_text,
            "run_number": run_number,
            "host": optional_text(host, "host") or host_name(),
            "user": current_user(),
            "work_dir": optional_text(work_dir, "work_dir"),
            "environment": json_column(environment, "environment"),
            "versions": json_column(versions, "versions"),
            "config_path": optional_text(config_path, "config_path"),
            "log_path": optional_text(log_path, "log_path"),
            "report_path": optional_text(report_path, "report_path"),
        }
        self.parameter_rows = ParameterRows(model)


class ParameterRows:
    """A validated model as stored: whole (JSON) and one row per leaf parameter."""

    __slots__ = ("leaves", "model_json")

    def __init__(self, model: Mapping[str, Any]) -> None:
        self.model_json = dump_json(model)
        self.leaves = flatten_parameters(model)


def _insert_leaves(conn: sqlite3.Connection, parameters_id: int, rows: ParameterRows) -> None:
    conn.executemany(
        "INSERT INTO parameter_values (parameters_id, path, value) VALUES (?, ?, ?)",
        [(parameters_id, path, value) for path, value in rows.leaves],
    )


def replace_parameters(conn: sqlite3.Connection, parameters_id: int, rows: ParameterRows) -> None:
    """Store ``rows`` as the parameters ``parameters_id`` (a queued execution's, claimed)."""
    conn.execute("UPDATE parameters SET model = ? WHERE id = ?", (rows.model_json, parameters_id))
    conn.execute("DELETE FROM parameter_values WHERE parameters_id = ?", (parameters_id,))
    _insert_leaves(conn, parameters_id, rows)


def insert_execution(
    conn: sqlite3.Connection, row: ExecutionRow, extra: Mapping[str, Any]
) -> Tuple[int, int]:
    """Insert an execution, its model and its parameter rows; ``(execution id, parameters id)``.

    ``extra`` holds the columns that depend on how it was recorded (status, supervisor).
    Column names come from :class:`ExecutionRow` and the callers, never from input.
    """
    columns = {**row.columns, **extra, "created": utc_now()}
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    cursor = conn.execute(
        f"INSERT INTO executions ({names}) VALUES ({marks})", tuple(columns.values())
    )
    execution_id = int(cursor.lastrowid)  # type: ignore[arg-type]
    cursor = conn.execute(
        "INSERT INTO parameters (execution_id, model) VALUES (?, ?)",
        (execution_id, row.parameter_rows.model_json),
    )
    parameters_id = int(cursor.lastrowid)  # type: ignore[arg-type]
    _insert_leaves(conn, parameters_id, row.parameter_rows)
    return execution_id, parameters_id


def lost_to_record(core: DatabaseCore) -> List[Lost]:
    """What a writer records LOST in its transaction: :func:`~lute.io.db._lost.find_lost`
    in a read of its own, so that looking at processes does not hold the write lock;
    nothing for a read-only connection (its write fails anyway)."""
    return [] if core.readonly else core._read("find lost executions", find_lost)


def _is_this_process(host: Optional[str], pid: Optional[int], key: Optional[str]) -> bool:
    me = this_process()
    if key is not None and me.key is not None:
        return key == me.key
    return (host, pid) == (me.host, me.pid)


class WriterMixin(DatabaseCore):
    """The methods that write an execution's life; see :class:`lute.io.db.Database`."""

    def start_execution(
        self,
        *,
        managed_task: str,
        task_name: str,
        experiment: Optional[str],
        run: Optional[RunLike],
        parameters: Mapping[str, Any],
        work_dir: Optional[str] = None,
        host: Optional[str] = None,
        environment: Optional[Mapping[str, Any]] = None,
        versions: Optional[Mapping[str, Any]] = None,
        config_path: Optional[str] = None,
        log_path: Optional[str] = None,
        report_path: Optional[str] = None,
        supervisor: Optional[Supervisor] = None,
        rerun_of: Optional[int] = None,
    ) -> RowIds:
        """Record a new execution (status PENDING) with its validated parameters.

        The calling process is recorded as the execution's supervisor (host, pid,
        process start time) with a first heartbeat: it should call :meth:`heartbeat`
        every :data:`~lute.io.db.HEARTBEAT_INTERVAL` seconds until the execution ends.
        In the same transaction, executions whose Executor is gone are recorded LOST
        (:meth:`mark_lost`).

        Args:
            managed_task: Name of the managed task (Executor).
            task_name: Name of the Task class.
            experiment: Experiment name, or ``None``.
            run: Run as text (``"0012"``) or number, or ``None``.
            parameters: The validated model as JSON-compatible data (e.g.
                ``model.model_dump(mode="json")``; a pydantic model itself is accepted).
            work_dir: The work directory.
            host: Host name; defaults to this host.
            environment: Interpreter, environment kind, ... (stored as JSON).
            versions: Versions of LUTE, Python, pydantic, ... (stored as JSON).
            config_path: The YAML configuration file.
            log_path: The run's log file.
            report_path: The run's report.
            supervisor: The supervising Executor process; this process when ``None``
                (the normal case; see :func:`~lute.io.db.this_process`).
            rerun_of: The execution this one runs again (``lute-exec rerun``).

        Returns:
            ``RowIds(execution_id, parameters_id, db_path)`` to hand to the Task.

        Raises:
            DatabaseError: Invalid arguments (e.g. a parameter without a JSON form, named
                by its path) or the database could not be written in time.
        """
        from lute.io.parameters import RowIds

        row = ExecutionRow(
            managed_task=managed_task,
            task_name=task_name,
            experiment=experiment,
            run=run,
            parameters=parameters,
            work_dir=work_dir,
            host=host,
            environment=environment,
            versions=versions,
            config_path=config_path,
            log_path=log_path,
            report_path=report_path,
        )
        extra = supervisor_columns(supervisor)
        if rerun_of is not None:
            extra["rerun_of"] = execution_key(rerun_of)
        lost = lost_to_record(self)

        def body(conn: sqlite3.Connection) -> Tuple[int, int]:
            record_lost(conn, lost)
            status = {"status": "PENDING", "heartbeat": utc_now()}
            return insert_execution(conn, row, {**extra, **status})

        execution_id, parameters_id = self._write(f"record an execution of {row.task_name}", body)
        return RowIds(execution_id=execution_id, parameters_id=parameters_id, db_path=self._path)

    def set_status(
        self,
        execution_id: int,
        status: StatusLike,
        *,
        exit_code: Optional[int] = None,
        signal: Optional[Union[str, int]] = None,
        error: Optional[str] = None,
        pid: Optional[int] = None,
        log_path: Optional[str] = None,
        report_path: Optional[str] = None,
        if_status: Optional[str] = None,
    ) -> bool:
        """Move an execution to ``status`` and record the given details.

        RUNNING sets ``started`` and a terminal status (COMPLETED, FAILED, TIMEDOUT,
        CANCELLED, LOST) sets ``ended``, each only the first time. A terminal status may
        be replaced by another terminal one (the Executor's final verdict wins), but a
        non-terminal status arriving after a terminal one (a late RUNNING) is ignored;
        only its ``pid``, if not yet known, and the paths are kept. Besides:

        - LOST never replaces another terminal status (the end was recorded already);
          its ``ended`` is the last heartbeat.
        - Any terminal status replaces LOST. When the execution's own supervisor writes
          it (it was alive after all, e.g. a network file system delayed its heartbeat),
          ``ended`` becomes now and ``error`` is the one given (none: cleared).
        - QUEUED is only set by ``queue_execution``; a QUEUED execution moves to a
          terminal status here (e.g. CANCELLED while pending), or to PENDING through
          ``claim_queued``.
        - A non-terminal status refreshes the heartbeat.

        Args:
            execution_id: The execution.
            status: A status name or ``TaskStatus``.
            exit_code: Exit code of the Task process.
            signal: Name (``"SIGKILL"``) or number of the signal that ended it.
            error: Error text, typically a traceback.
            pid: Process id of the Task.
            log_path: The run's log file.
            report_path: The run's report.
            if_status: Change nothing unless the execution's status is still this one:
                what the caller decided from (a QUEUED row that ``lute-exec cancel`` or
                reconciling with SLURM ends) may have been claimed or ended meanwhile.

        Returns:
            Whether the status was written (``False``: the rules above or ``if_status``
            kept the current one).

        Raises:
            DatabaseError: Unknown execution or status, invalid details, or a transition
                the rules above refuse.
        """
        new = normalise_status(status, "set_status")
        if new == "QUEUED":
            raise DatabaseError(
                f"set_status: execution {execution_id!r} cannot become QUEUED; "
                "queue_execution records queued executions"
            )
        details: Dict[str, Any] = {
            "exit_code": optional_int(exit_code, "exit_code"),
            "signal": signal_name(signal),
            "error": optional_text(error, "error"),
            "pid": optional_int(pid, "pid"),
        }
        paths = {
            "log_path": optional_text(log_path, "log_path"),
            "report_path": optional_text(report_path, "report_path"),
        }
        expected = None if if_status is None else normalise_status(if_status, "set_status")
        execution_key(execution_id)

        def body(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT status, supervisor_host, supervisor_pid, supervisor_key"
                " FROM executions WHERE id = ?",
                (execution_id,),
            ).fetchone()
            if found is None:
                raise self._no_execution(execution_id)
            current = str(found[0])
            if expected is not None and current != expected:
                return False
            if current == "QUEUED" and new not in TERMINAL_STATUSES:
                raise DatabaseError(
                    f"set_status: execution {execution_id} is QUEUED; claim_queued starts it"
                )
            assignments: Dict[str, Any] = {k: v for k, v in paths.items() if v is not None}
            if current in TERMINAL_STATUSES and (
                new not in TERMINAL_STATUSES or (new == "LOST" and current != "LOST")
            ):
                # Too late to change the status: keep what may still be news.
                late = (
                    {"pid = coalesce(pid, ?)": details["pid"]} if details["pid"] is not None else {}
                )
                _update(conn, execution_id, assignments, late)
                return False
            now = utc_now()
            assignments.update((k, v) for k, v in details.items() if v is not None)
            assignments["status"] = new
            expressions: Dict[str, Any] = {}
            if new == "RUNNING":
                expressions["started = coalesce(started, ?)"] = now
            if new in SUPERVISED_STATUSES:
                assignments["heartbeat"] = now
            elif current == "LOST" and new != "LOST" and _is_this_process(*found[1:]):
                assignments["ended"] = now
                assignments["error"] = details["error"]
            elif new == "LOST":
                expressions["ended = coalesce(ended, heartbeat, ?)"] = now
            else:
                expressions["ended = coalesce(ended, ?)"] = now
            _update(conn, execution_id, assignments, expressions)
            return True

        return self._write(f"set the status of execution {execution_id!r}", body)

    def heartbeat(self, execution_id: int) -> None:
        """Record that the execution's Executor is alive (one small UPDATE).

        Call it every :data:`~lute.io.db.HEARTBEAT_INTERVAL` seconds while the execution
        is not terminal. Readers on other hosts tell a gone Executor by a heartbeat older
        than :data:`~lute.io.db.HEARTBEAT_LIMIT` seconds. ``add_messages`` beats too.

        Raises:
            DatabaseError: Unknown execution.
        """
        key = execution_key(execution_id)

        def body(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE executions SET heartbeat = ? WHERE id = ?", (utc_now(), key)
            )
            if cursor.rowcount == 0:
                raise self._no_execution(key)

        self._write(f"record a heartbeat of execution {key}", body)

    def set_paths(
        self,
        execution_id: int,
        *,
        log_path: Optional[str] = None,
        report_path: Optional[str] = None,
    ) -> None:
        """Record where the run's log and report are (those given; ``None`` keeps).

        Raises:
            DatabaseError: Unknown execution, or a path that is not text.
        """
        paths = {
            "log_path": optional_text(log_path, "log_path"),
            "report_path": optional_text(report_path, "report_path"),
        }
        key = execution_key(execution_id)

        def body(conn: sqlite3.Connection) -> None:
            self._require_execution(conn, key)
            _update(conn, key, {k: v for k, v in paths.items() if v is not None})

        self._write(f"record the paths of execution {key}", body)

    def mark_lost(self) -> List[int]:
        """Record every execution whose Executor is gone as LOST, now; their ids.

        ``start_execution`` and ``claim_queued`` do this anyway; readers report such
        executions as LOST without writing. Which Executors are gone is decided as
        documented for :class:`~lute.io.db.ExecutionRecord` and in ``docs/database.md``.
        """
        lost = lost_to_record(self)
        return self._write("record lost executions", lambda conn: record_lost(conn, lost))


def _update(
    conn: sqlite3.Connection,
    execution_id: int,
    assignments: Mapping[str, Any],
    expressions: Optional[Mapping[str, Any]] = None,
) -> None:
    """``UPDATE executions``: ``column = value`` for each assignment, and each SQL
    expression (``"ended = coalesce(ended, ?)"``) with the one value it binds.

    Column names and expressions come from this module, never from input.
    """
    expressions = expressions or {}
    parts = [f"{column} = ?" for column in assignments] + list(expressions)
    if parts:
        values = (*assignments.values(), *expressions.values(), execution_id)
        conn.execute(f"UPDATE executions SET {', '.join(parts)} WHERE id = ?", values)
