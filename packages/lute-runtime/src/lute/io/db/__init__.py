"""The results database: executions, their parameters, results and messages in SQLite.

One file per work directory (``<work_dir>/lute.db``), written by the Executor and read by
validators, the ``lute-exec db`` command and Tasks (this module needs only the standard
library, so it works in any Task environment). The schema is documented in
``docs/database.md``.

Writer side (the Executor)::

    db = Database(default_db_path(work_dir))
    ids = db.start_execution(managed_task="Tester", task_name="Test", experiment="xpp1234",
                             run=12, parameters=model.model_dump(mode="json"))
    db.set_status(ids.execution_id, "RUNNING", pid=proc.pid)
    db.add_result(ids.execution_id, {"Rate": 0.05, "Total": 10}, payload={"fit": [1, 2]})
    db.set_status(ids.execution_id, "COMPLETED", exit_code=0)

Reader side (a validator)::

    with Database(path, readonly=True) as db:
        result = db.latest_result("FindPeaks", experiment="xpp1234", run=12)

Many processes may write one file at the same time: every write is one short
``BEGIN IMMEDIATE`` transaction, retried with jittered back-off while the file is locked,
within ``timeout`` seconds. A :class:`Database` object may be shared between threads.
"""

from __future__ import annotations

import getpass
import math
import os
import signal as _signal
import socket
import sqlite3
import threading
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from lute.io.db._connect import (
    JOURNAL_MODE_ENV,
    DatabaseError,
    apply_journal_mode,
    connect,
    resolve_journal_mode,
    retry_busy,
)
from lute.io.db._records import (
    EXECUTION_COLUMNS,
    RESULT_COLUMNS,
    ExecutionRecord,
    ResultRecord,
    execution_from_row,
    result_from_row,
)
from lute.io.db._schema import SCHEMA_VERSION, ensure_schema
from lute.io.db._values import (
    STATUSES,
    TERMINAL_STATUSES,
    PlotsRef,
    clean_text,
    decode_json,
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

__all__ = [
    "DEFAULT_DB_NAME",
    "JOURNAL_MODE_ENV",
    "SCHEMA_VERSION",
    "STATUSES",
    "TERMINAL_STATUSES",
    "Database",
    "DatabaseError",
    "ExecutionRecord",
    "PlotsRef",
    "ResultRecord",
    "default_db_path",
    "format_summary",
]

# The public types are documented as living here.
for _public in (DatabaseError, ExecutionRecord, ResultRecord, PlotsRef):
    _public.__module__ = __name__
del _public

DEFAULT_DB_NAME = "lute.db"

T = TypeVar("T")
RunLike = Union[str, int]
StatusLike = Any  # a status name or a TaskStatus-like enum


def default_db_path(work_dir: str) -> str:
    """Absolute path of the results database of a work directory."""
    return os.path.join(os.path.abspath(os.path.expanduser(os.fspath(work_dir))), DEFAULT_DB_NAME)


# ----------------------------------------------------------------------- argument checks


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DatabaseError(f"{what} must be a non-empty string, got {value!r}")
    return clean_text(value)


def _opt_text(value: Any, what: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise DatabaseError(f"{what} must be a string or None, got {value!r}")
    return clean_text(value)


def _opt_int(value: Any, what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatabaseError(f"{what} must be an int or None, got {value!r}")
    return int(value)


def _signal_name(value: Any) -> Optional[str]:
    """Signal given as a name (``"SIGKILL"``) or number (9), stored by name."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return _signal.Signals(abs(value)).name
        except ValueError:
            return f"SIG{abs(value)}"
    return _opt_text(value, "signal")


def _json_column(value: Optional[Mapping[str, Any]], what: str) -> Optional[str]:
    if value is None:
        return None
    data = to_json_data(value, what)
    if not isinstance(data, dict):
        raise DatabaseError(f"{what} must be a mapping, got {type(value).__name__}")
    return dump_json(data)


def _current_user() -> Optional[str]:
    try:
        return getpass.getuser()
    except Exception:  # no login name and no passwd entry (some containers)
        return None


def _status_filter(status: Any, what: str) -> List[str]:
    if isinstance(status, (list, tuple, set, frozenset)):
        return [normalise_status(item, what) for item in status]
    return [normalise_status(status, what)]


class _Where:
    """Collects ``AND``-ed SQL conditions with their bound values."""

    def __init__(self) -> None:
        self.clauses: List[str] = []
        self.values: List[Any] = []

    def add(self, clause: str, *values: Any) -> None:
        self.clauses.append(clause)
        self.values.extend(values)

    def run(self, run: Any) -> None:
        # A numeric run matches by value ("0012" == 12); any other text matches exactly.
        text, number = run_columns(run)
        if number is not None:
            self.add("run_number = ?", number)
        else:
            self.add("run = ?", text)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


# ----------------------------------------------------------------------- the database


class Database:
    """A connection to one results database file, safe to share between threads.

    Args:
        path: The SQLite file (see :func:`default_db_path`).
        readonly: Open for reading only. The file must exist and have the schema.
        timeout: Seconds a single read or write may wait for other writers before
            :class:`DatabaseError` is raised.
        journal_mode: ``WAL`` (default), ``DELETE``, ``TRUNCATE`` or ``PERSIST``; when
            ``None``, ``$LUTE_DB_JOURNAL_MODE`` decides. WAL needs a local filesystem: set
            ``DELETE`` for a work directory on NFS. Ignored when ``readonly``.

    Raises:
        DatabaseError: The file is missing (read-only), not a LUTE database, or has a
            newer schema version than this code knows.
    """

    def __init__(
        self,
        path: str,
        *,
        readonly: bool = False,
        timeout: float = 60.0,
        journal_mode: Optional[str] = None,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise DatabaseError(f"database path must be a non-empty path, got {path!r}")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise DatabaseError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self._path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._readonly = bool(readonly)
        self._timeout = float(timeout)
        self._wanted_journal_mode = None if readonly else resolve_journal_mode(journal_mode)
        self._journal_mode: Optional[str] = None
        self._lock = threading.RLock()
        self._closed = False
        # Connections inherited through fork() must not be used or closed by the child;
        # they are kept referenced so that garbage collection does not close them either.
        self._inherited: List[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._conn = self._open()

    # ------------------------------------------------------------------- plumbing

    def _open(self) -> sqlite3.Connection:
        conn = connect(self._path, readonly=self._readonly, timeout=self._timeout)
        try:
            if self._wanted_journal_mode is not None:
                self._journal_mode = apply_journal_mode(
                    conn, self._path, self._wanted_journal_mode, self._timeout
                )
            else:
                self._journal_mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
                self._journal_mode = self._journal_mode.upper()
            ensure_schema(conn, self._path, readonly=self._readonly, timeout=self._timeout)
        except sqlite3.Error as exc:
            conn.close()
            raise DatabaseError(f"cannot use results database {self._path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise DatabaseError(f"results database {self._path} is closed")
        if os.getpid() != self._pid:
            self._inherited.append(self._conn)
            self._pid = os.getpid()
            self._conn = self._open()
        return self._conn

    def _transaction(self, begin: str, what: str, body: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()

            def attempt() -> T:
                conn.execute(begin)
                try:
                    result = body(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result

            try:
                return retry_busy(attempt, self._timeout, f"{what} in {self._path}")
            except sqlite3.Error as exc:
                raise DatabaseError(f"{what} in {self._path} failed: {exc}") from exc

    def _write(self, what: str, body: Callable[[sqlite3.Connection], T]) -> T:
        if self._readonly:
            raise DatabaseError(f"cannot {what}: {self._path} was opened read-only")
        # IMMEDIATE takes the write lock up front, so a transaction never has to upgrade
        # a read lock (an upgrade cannot wait in the busy handler and fails at once).
        return self._transaction("BEGIN IMMEDIATE", what, body)

    def _read(self, what: str, body: Callable[[sqlite3.Connection], T]) -> T:
        # One deferred transaction: several SELECTs see the same snapshot.
        return self._transaction("BEGIN", what, body)

    def _require_execution(self, conn: sqlite3.Connection, execution_id: Any) -> str:
        """Status of ``execution_id``; raises if there is no such execution."""
        if isinstance(execution_id, bool) or not isinstance(execution_id, int):
            raise DatabaseError(f"execution_id must be an int, got {execution_id!r}")
        row = conn.execute("SELECT status FROM executions WHERE id = ?", (execution_id,))
        found = row.fetchone()
        if found is None:
            raise DatabaseError(f"no execution with id {execution_id} in {self._path}")
        return str(found[0])

    # ------------------------------------------------------------------- properties

    @property
    def path(self) -> str:
        """Absolute path of the database file."""
        return self._path

    @property
    def readonly(self) -> bool:
        """Whether this connection only reads."""
        return self._readonly

    @property
    def journal_mode(self) -> Optional[str]:
        """The journal mode in effect (``WAL``, ``DELETE``, ...)."""
        return self._journal_mode

    # ------------------------------------------------------------------- writer side

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

        managed_task = _name(managed_task, "managed_task")
        task_name = _name(task_name, "task_name")
        experiment = _opt_text(experiment, "experiment")
        run_text, run_number = run_columns(run)
        model = to_json_data(parameters, "")
        if not isinstance(model, dict):
            raise DatabaseError(
                "parameters must be a mapping of parameter names to values, got "
                + type(parameters).__name__
            )
        model_json = dump_json(model)
        leaves = flatten_parameters(model)
        environment_json = _json_column(environment, "environment")
        versions_json = _json_column(versions, "versions")
        row = (
            managed_task,
            task_name,
            experiment,
            run_text,
            run_number,
            _opt_text(host, "host") or socket.gethostname(),
            _current_user(),
            _opt_text(work_dir, "work_dir"),
            environment_json,
            versions_json,
            _opt_text(config_path, "config_path"),
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
            "exit_code": _opt_int(exit_code, "exit_code"),
            "signal": _signal_name(signal),
            "error": _opt_text(error, "error"),
            "pid": _opt_int(pid, "pid"),
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
                    _opt_int(rank, what + ": rank"),
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

    # ------------------------------------------------------------------- reader side

    def execution(self, execution_id: int) -> ExecutionRecord:
        """The execution with this id.

        Raises:
            DatabaseError: No such execution.
        """

        def body(conn: sqlite3.Connection) -> ExecutionRecord:
            self._require_execution(conn, execution_id)
            row = conn.execute(
                f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            return execution_from_row(row)

        return self._read(f"read execution {execution_id!r}", body)

    def executions(
        self,
        *,
        task_name: Optional[str] = None,
        managed_task: Optional[str] = None,
        experiment: Optional[str] = None,
        run: Optional[RunLike] = None,
        status: Optional[Union[StatusLike, Iterable[StatusLike]]] = None,
        limit: Optional[int] = 50,
    ) -> List[ExecutionRecord]:
        """Executions matching every given filter, newest first.

        Args:
            task_name: Task class name.
            managed_task: Managed task name.
            experiment: Experiment name.
            run: Run; a numeric run matches by value (``12`` finds ``"0012"``).
            status: A status, or several (any of them).
            limit: At most this many; ``None`` for all.
        """
        where = _Where()
        if task_name is not None:
            where.add("task_name = ?", task_name)
        if managed_task is not None:
            where.add("managed_task = ?", managed_task)
        if experiment is not None:
            where.add("experiment = ?", experiment)
        if run is not None:
            where.run(run)
        if status is not None:
            names = _status_filter(status, "executions")
            marks = ", ".join("?" * len(names))
            where.add(f"status IN ({marks})", *names)
        limit_value = _limit(limit)
        query = f"SELECT {EXECUTION_COLUMNS} FROM executions{where.sql()} ORDER BY id DESC LIMIT ?"

        def body(conn: sqlite3.Connection) -> List[ExecutionRecord]:
            rows = conn.execute(query, (*where.values, limit_value)).fetchall()
            return [execution_from_row(row) for row in rows]

        return self._read("list executions", body)

    def parameters(self, execution_id: int) -> Dict[str, Any]:
        """The whole validated model an execution ran with (decoded JSON).

        Raises:
            DatabaseError: No such execution.
        """

        def body(conn: sqlite3.Connection) -> Dict[str, Any]:
            self._require_execution(conn, execution_id)
            row = conn.execute(
                "SELECT model FROM parameters WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            return {} if row is None else decode_json(row[0])

        return self._read(f"read the parameters of execution {execution_id!r}", body)

    def results(self, execution_id: int) -> List[ResultRecord]:
        """All result items of an execution, by position.

        Raises:
            DatabaseError: No such execution.
        """

        def body(conn: sqlite3.Connection) -> List[ResultRecord]:
            self._require_execution(conn, execution_id)
            rows = conn.execute(
                f"SELECT {RESULT_COLUMNS} FROM result_view WHERE execution_id = ?"
                " ORDER BY position",
                (execution_id,),
            ).fetchall()
            return [result_from_row(row) for row in rows]

        return self._read(f"read the results of execution {execution_id!r}", body)

    def messages(self, execution_id: int) -> List[Tuple[str, Optional[int], str]]:
        """Messages of an execution in the order they were added: ``(UTC time, rank, text)``.

        Raises:
            DatabaseError: No such execution.
        """

        def body(conn: sqlite3.Connection) -> List[Tuple[str, Optional[int], str]]:
            self._require_execution(conn, execution_id)
            rows = conn.execute(
                "SELECT time, rank, text FROM messages WHERE execution_id = ? ORDER BY id",
                (execution_id,),
            ).fetchall()
            return [tuple(row) for row in rows]

        return self._read(f"read the messages of execution {execution_id!r}", body)

    def latest_result(
        self,
        task_name: str,
        *,
        experiment: Optional[str] = None,
        run: Optional[RunLike] = None,
        status: Optional[StatusLike] = "COMPLETED",
    ) -> Optional[ResultRecord]:
        """The last result item of the newest matching execution that has results.

        "Newest" is the highest execution id (the most recently started), the same
        execution :meth:`latest_parameters` picks when it has results. Within it, the item
        with the highest position.

        Args:
            task_name: Task class name.
            experiment: Only this experiment (any when ``None``).
            run: Only this run (any when ``None``); a numeric run matches by value.
            status: Only executions in this status (any when ``None``).

        Returns:
            The result, or ``None`` when nothing matches.
        """
        where = self._latest_filter(task_name, experiment, run, status, "latest_result")
        query = "SELECT %s FROM result_view%s ORDER BY execution_id DESC, position DESC LIMIT 1"
        query = query % (RESULT_COLUMNS, where.sql())
        return self._read_first(query, where, result_from_row, f"the latest result of {task_name}")

    def latest_parameters(
        self,
        task_name: str,
        *,
        experiment: Optional[str] = None,
        run: Optional[RunLike] = None,
        status: Optional[StatusLike] = "COMPLETED",
    ) -> Optional[Dict[str, Any]]:
        """The parameters of the newest matching execution (highest id).

        Args:
            task_name: Task class name.
            experiment: Only this experiment (any when ``None``).
            run: Only this run (any when ``None``); a numeric run matches by value.
            status: Only executions in this status (any when ``None``).

        Returns:
            The whole model (decoded JSON), or ``None`` when nothing matches.
        """
        where = self._latest_filter(task_name, experiment, run, status, "latest_parameters")
        query = (
            "SELECT p.model FROM executions JOIN parameters AS p ON p.execution_id = executions.id"
            f"{where.sql()} ORDER BY executions.id DESC LIMIT 1"
        )
        return self._read_first(
            query, where, lambda row: decode_json(row[0]), f"the latest parameters of {task_name}"
        )

    def _read_first(
        self, query: str, where: _Where, convert: Callable[[Any], T], what: str
    ) -> Optional[T]:
        """``convert`` of the first row ``query`` finds with ``where``'s values, or None."""

        def body(conn: sqlite3.Connection) -> Optional[T]:
            row = conn.execute(query, where.values).fetchone()
            return None if row is None else convert(row)

        return self._read("find " + what, body)

    @staticmethod
    def _latest_filter(task_name: str, experiment: Any, run: Any, status: Any, what: str) -> _Where:
        where = _Where()
        where.add("task_name = ?", _name(task_name, f"{what}: task_name"))
        if experiment is not None:
            where.add("experiment = ?", experiment)
        if run is not None:
            where.run(run)
        if status is not None:
            where.add("status = ?", normalise_status(status, what))
        return where

    # ------------------------------------------------------------------- lifetime

    def close(self) -> None:
        """Close the connection; further use raises :class:`DatabaseError`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if os.getpid() == self._pid:
                self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("read-only" if self._readonly else "read-write")
        return f"Database({self._path!r}, {state})"


def _limit(limit: Any) -> int:
    """SQLite's LIMIT value; -1 means no limit."""
    if limit is None:
        return -1
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise DatabaseError(f"limit must be a non-negative int or None, got {limit!r}")
    return limit
