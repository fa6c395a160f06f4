"""The writer side of :class:`lute.io.db.Database`: what the Executor records. Private.

:class:`WriterMixin` adds one method per event of an execution's life: it is recorded
with its parameters (:meth:`~WriterMixin.start_execution`), changes status
(:meth:`~WriterMixin.set_status`), reports results and plain messages
(:meth:`~WriterMixin.add_result`, :meth:`~WriterMixin.add_messages`). Each call checks
its arguments first, then writes in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import getpass
import socket
import sqlite3
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from lute.io.db._arguments import (
    RunLike,
    StatusLike,
    json_column,
    optional_int,
    optional_text,
    required_name,
    signal_name,
)
from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._values import (
    TERMINAL_STATUSES,
    clean_text,
    dump_json,
    encode_payload,
    flatten_parameters,
    format_summary,
    normalise_status,
    run_columns,
    to_json_data,
    utc_from_epoch,
    utc_now,
)

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.parameters import RowIds

__all__ = ["WriterMixin"]


def _current_user() -> Optional[str]:
    try:
        return getpass.getuser()
    except Exception:  # no login name and no passwd entry (some containers)
        return None


class WriterMixin(DatabaseCore):
    """The methods that write an execution's rows; see :class:`lute.io.db.Database`."""

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
    ) -> RowIds:
        """Record a new execution (status PENDING) with its validated parameters.

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

        Returns:
            ``RowIds(execution_id, parameters_id, db_path)`` to hand to the Task.

        Raises:
            DatabaseError: Invalid arguments (e.g. a parameter without a JSON form, named
                by its path) or the database could not be written in time.
        """
        from lute.io.parameters import RowIds

        managed_task = required_name(managed_task, "managed_task")
        task_name = required_name(task_name, "task_name")
        experiment = optional_text(experiment, "experiment")
        run_text, run_number = run_columns(run)
        model = to_json_data(parameters, "")
        if not isinstance(model, dict):
            raise DatabaseError(
                "parameters must be a mapping of parameter names to values, got "
                + type(parameters).__name__
            )
        model_json = dump_json(model)
        leaves = flatten_parameters(model)
        environment_json = json_column(environment, "environment")
        versions_json = json_column(versions, "versions")
        row = (
            managed_task,
            task_name,
            experiment,
            run_text,
            run_number,
            optional_text(host, "host") or socket.gethostname(),
            _current_user(),
            optional_text(work_dir, "work_dir"),
            environment_json,
            versions_json,
            optional_text(config_path, "config_path"),
        )

        def body(conn: sqlite3.Connection) -> Tuple[int, int]:
            cursor = conn.execute(
                "INSERT INTO executions (managed_task, task_name, experiment, run, run_number,"
                " host, user, work_dir, environment, versions, config_path, status, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', ?)",
                (*row, utc_now()),
            )
            execution_id = int(cursor.lastrowid)  # type: ignore[arg-type]
            cursor = conn.execute(
                "INSERT INTO parameters (execution_id, model) VALUES (?, ?)",
                (execution_id, model_json),
            )
            parameters_id = int(cursor.lastrowid)  # type: ignore[arg-type]
            conn.executemany(
                "INSERT INTO parameter_values (parameters_id, path, value) VALUES (?, ?, ?)",
                [(parameters_id, path, value) for path, value in leaves],
            )
            return execution_id, parameters_id

        execution_id, parameters_id = self._write(f"record an execution of {task_name}", body)
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
    ) -> None:
        """Move an execution to ``status`` and record the given details.

        RUNNING sets ``started`` and a terminal status (COMPLETED, FAILED, TIMEDOUT,
        CANCELLED) sets ``ended``, each only the first time. A terminal status may be
        replaced by another terminal one (the Executor's final verdict wins), but a
        non-terminal status arriving after a terminal one (a late RUNNING) is ignored;
        only its ``pid``, if not yet known, is kept.

        Args:
            execution_id: The execution.
            status: A status name or ``TaskStatus``.
            exit_code: Exit code of the Task process.
            signal: Name (``"SIGKILL"``) or number of the signal that ended it.
            error: Error text, typically a traceback.
            pid: Process id of the Task.

        Raises:
            DatabaseError: Unknown execution or status, or invalid details.
        """
        new = normalise_status(status, "set_status")
        details: Dict[str, Any] = {
            "exit_code": optional_int(exit_code, "exit_code"),
            "signal": signal_name(signal),
            "error": optional_text(error, "error"),
            "pid": optional_int(pid, "pid"),
        }

        def body(conn: sqlite3.Connection) -> None:
            current = self._require_execution(conn, execution_id)
            if current in TERMINAL_STATUSES and new not in TERMINAL_STATUSES:
                if details["pid"] is not None:
                    conn.execute(
                        "UPDATE executions SET pid = coalesce(pid, ?) WHERE id = ?",
                        (details["pid"], execution_id),
                    )
                return
            now = utc_now()
            assignments = ["status = ?"]
            values: List[Any] = [new]
            if new == "RUNNING":
                assignments.append("started = coalesce(started, ?)")
                values.append(now)
            if new in TERMINAL_STATUSES:
                assignments.append("ended = coalesce(ended, ?)")
                values.append(now)
            for column, value in details.items():
                if value is not None:
                    # Column names come from the fixed dict above, never from input.
                    assignments.append(f"{column} = ?")
                    values.append(value)
            conn.execute(
                f"UPDATE executions SET {', '.join(assignments)} WHERE id = ?",
                (*values, execution_id),
            )

        self._write(f"set the status of execution {execution_id!r}", body)

    def add_result(
        self,
        execution_id: int,
        summary: Any,
        payload: Any = None,
        task_status: Optional[StatusLike] = None,
    ) -> List[int]:
        """Record a Task's result: one row per summary item, sharing one payload.

        The summary is normalised by :func:`format_summary`. The payload is stored as JSON
        when ``json`` can serialise it, else as its ``repr``, with its type name. Items
        continue the execution's positions when called more than once.

        Args:
            execution_id: The execution.
            summary: ``TaskResult.summary`` with plots already rendered (:class:`PlotsRef`).
            payload: ``TaskResult.payload``.
            task_status: ``TaskResult.task_status``.

        Returns:
            Row ids of the stored items, in order.

        Raises:
            DatabaseError: Unknown execution or status.
        """
        items = format_summary(summary)
        payload_text, payload_type, encoding = encode_payload(payload)
        status = None if task_status is None else normalise_status(task_status, "add_result")

        def body(conn: sqlite3.Connection) -> List[int]:
            self._require_execution(conn, execution_id)
            cursor = conn.execute(
                "INSERT INTO task_results (execution_id, task_status, payload, payload_type,"
                " payload_encoding, created) VALUES (?, ?, ?, ?, ?, ?)",
                (execution_id, status, payload_text, payload_type, encoding, utc_now()),
            )
            task_result_id = cursor.lastrowid
            first = conn.execute(
                "SELECT coalesce(max(position) + 1, 0) FROM results WHERE execution_id = ?",
                (execution_id,),
            ).fetchone()[0]
            ids = []
            for offset, (kind, text) in enumerate(items):
                cursor = conn.execute(
                    "INSERT INTO results (task_result_id, execution_id, position, kind, summary)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (task_result_id, execution_id, first + offset, kind, text),
                )
                ids.append(int(cursor.lastrowid))  # type: ignore[arg-type]
            return ids

        return self._write(f"add a result to execution {execution_id!r}", body)

    def add_messages(
        self, execution_id: int, messages: Sequence[Tuple[float, Optional[int], str]]
    ) -> None:
        """Append plain messages of an execution, all in one transaction.

        Args:
            execution_id: The execution.
            messages: ``(POSIX time, MPI rank or None, text)`` tuples.

        Raises:
            DatabaseError: Unknown execution or a malformed message (named by index).
        """
        rows = []
        for index, message in enumerate(messages):
            what = f"add_messages: message {index}"
            if not isinstance(message, (tuple, list)) or len(message) != 3:
                raise DatabaseError(f"{what} must be a (time, rank, text) tuple, got {message!r}")
            when, rank, text = message
            if not isinstance(text, str):
                raise DatabaseError(f"{what}: text must be a string, got {text!r}")
            rows.append(
                (
                    execution_id,
                    utc_from_epoch(when, what),
                    optional_int(rank, what + ": rank"),
                    clean_text(text),
                )
            )
        if not rows:
            return

        def body(conn: sqlite3.Connection) -> None:
            self._require_execution(conn, execution_id)
            conn.executemany(
                "INSERT INTO messages (execution_id, time, rank, text) VALUES (?, ?, ?, ?)", rows
            )

        self._write(f"add messages to execution {execution_id!r}", body)
