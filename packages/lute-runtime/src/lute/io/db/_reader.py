"""The reader side of :class:`lute.io.db.Database`: what validators and ``db`` ask. Private.

:class:`ReaderMixin` adds the queries: one execution and its parameters, results and
messages by id, executions by filter, and the latest result or parameters of a Task.
Each runs in one deferred transaction, so its SELECTs see one snapshot. An execution
whose Executor is gone is reported LOST (:mod:`lute.io.db._lost`), without writing.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Dict, Iterable, List, Optional, TypeVar, Union

from lute.io.db._arguments import RunLike, StatusLike, TimeLike, count, execution_key
from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._lost import verdict
from lute.io.db._outputs import (
    MESSAGE_COLUMNS,
    RESULT_COLUMNS,
    MessageRecord,
    ResultRecord,
    result_from_row,
)
from lute.io.db._progress import PROGRESS_LEVEL
from lute.io.db._query import Where, execution_filter, latest_filter, sql_limit, status_names
from lute.io.db._records import (
    EXECUTION_SELECT,
    STATUS_INDEX,
    ExecutionRecord,
    execution_from_row,
    row_verdict,
)
from lute.io.db._values import SUPERVISED_STATUSES, decode_json

__all__ = ["ReaderMixin"]

T = TypeVar("T")


class ReaderMixin(DatabaseCore):
    """The methods that read the database; see :class:`lute.io.db.Database`."""

    def execution(self, execution_id: int) -> ExecutionRecord:
        """The execution with this id.

        A PENDING, RUNNING or STOPPED execution whose Executor is gone is returned as
        LOST (``error`` says why, ``ended`` is its last heartbeat), as the next write
        will record it; see ``docs/database.md`` for how that is decided.

        Raises:
            DatabaseError: No such execution.
        """

        def body(conn: sqlite3.Connection) -> ExecutionRecord:
            row = conn.execute(
                f"SELECT {EXECUTION_SELECT} FROM executions WHERE id = ?",
                (execution_key(execution_id),),
            ).fetchone()
            if row is None:
                raise self._no_execution(execution_id)
            return execution_from_row(row, verdict())

        return self._read(f"read execution {execution_id!r}", body)

    def executions(
        self,
        *,
        task_name: Optional[str] = None,
        managed_task: Optional[str] = None,
        experiment: Optional[str] = None,
        run: Optional[RunLike] = None,
        status: Optional[Union[StatusLike, Iterable[StatusLike]]] = None,
        created_after: Optional[TimeLike] = None,
        created_before: Optional[TimeLike] = None,
        started_after: Optional[TimeLike] = None,
        started_before: Optional[TimeLike] = None,
        submission_id: Optional[int] = None,
        slurm_job_id: Optional[Union[int, str]] = None,
        limit: Optional[int] = 50,
        offset: int = 0,
    ) -> List[ExecutionRecord]:
        """Executions matching every given filter, newest (highest id) first.

        Statuses are those :meth:`execution` reports: ``status="LOST"`` finds the
        executions whose Executor is gone even where the file still says RUNNING, and
        ``status="RUNNING"`` leaves them out.

        Args:
            task_name: Task class name.
            managed_task: Managed task name.
            experiment: Experiment name.
            run: Run; a numeric run matches by value (``12`` finds ``"0012"``).
            status: A status, or several (any of them).
            created_after: Recorded at or after this time: a timezone-aware
                ``datetime`` or POSIX seconds (a naive datetime is refused).
            created_before: Recorded before this time (same forms).
            started_after: First RUNNING at or after this time (same forms).
            started_before: First RUNNING before this time (same forms).
            submission_id: Queued by this SLURM submission.
            slurm_job_id: Of this SLURM job (the array's id for array tasks).
            limit: At most this many; ``None`` for all.
            offset: Skip this many matches first (for paging).

        Raises:
            DatabaseError: A filter of the wrong type (``experiment=12``), an unknown
                status, a naive datetime.
        """
        where = execution_filter(
            task_name=task_name,
            managed_task=managed_task,
            experiment=experiment,
            run=run,
            created_after=created_after,
            created_before=created_before,
            started_after=started_after,
            started_before=started_before,
            submission_id=submission_id,
            slurm_job_id=slurm_job_id,
        )
        limit_value = sql_limit(limit)
        skip = count(offset, "offset")
        wanted = None if status is None else set(status_names(status, "executions"))
        # Whether a row's stored status can differ from the one reported (LOST).
        judged = wanted is not None and bool(wanted & (SUPERVISED_STATUSES | {"LOST"}))
        if wanted is not None:
            stored = wanted | (SUPERVISED_STATUSES if "LOST" in wanted else set())
            marks = ", ".join("?" * len(stored))
            where.add(f"status IN ({marks})", *sorted(stored))
        query = f"SELECT {EXECUTION_SELECT} FROM executions{where.sql()} ORDER BY id DESC"

        def body(conn: sqlite3.Connection) -> List[ExecutionRecord]:
            judge = verdict()
            if not judged:
                rows = conn.execute(query + " LIMIT ? OFFSET ?", (*where.values, limit_value, skip))
                return [execution_from_row(row, judge) for row in rows]
            # Which rows match is known only once each is judged: read on until enough do.
            found: List[ExecutionRecord] = []
            to_skip = skip
            for row in conn.execute(query, where.values) if limit_value else ():
                reason = row_verdict(row, judge)
                if ("LOST" if reason else row[STATUS_INDEX]) not in wanted:  # type: ignore[operator]
                    continue
                if to_skip:
                    to_skip -= 1
                    continue
                found.append(execution_from_row(row, reason=reason))
                if len(found) == limit_value:
                    break
            return found

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

    def raw_result(self, result_id: int) -> bytes:
        """The bytes kept by ``add_undecodable_result`` for the result item ``result_id``
        (``ResultRecord.id`` of an item of kind ``undecodable``).

        Raises:
            DatabaseError: No such result item, or it was decoded (it has no raw bytes).
        """
        key = execution_key(result_id, "result_id")

        def body(conn: sqlite3.Connection) -> bytes:
            row = conn.execute(
                "SELECT t.raw FROM results AS r JOIN task_results AS t"
                " ON t.id = r.task_result_id WHERE r.id = ?",
                (key,),
            ).fetchone()
            if row is None:
                raise DatabaseError(f"no result with id {key} in {self._path}")
            if row[0] is None:
                raise DatabaseError(f"result {key} was decoded when it was recorded: no raw bytes")
            return bytes(row[0])

        return self._read(f"read the raw bytes of result {key}", body)

    def messages(
        self, execution_id: int, after_id: Optional[int] = None, limit: Optional[int] = None
    ) -> List[MessageRecord]:
        """Messages of an execution in the order they were added.

        A follower polls with the ``id`` of the last message it saw as ``after_id``.

        Args:
            execution_id: The execution.
            after_id: Only messages stored after this one (``MessageRecord.id``).
            limit: At most this many (the oldest first); ``None`` for all.

        Returns:
            :class:`~lute.io.db.MessageRecord` items: ``(UTC time, rank, text)`` tuples
            with their ``id``.

        Raises:
            DatabaseError: No such execution.
        """
        after = 0 if after_id is None else count(after_id, "after_id")
        limit_value = sql_limit(limit)

        def body(conn: sqlite3.Connection) -> List[MessageRecord]:
            self._require_execution(conn, execution_id)
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE execution_id = ? AND id > ?"
                " ORDER BY id LIMIT ?",
                (execution_id, after, limit_value),
            )
            return [MessageRecord(*row) for row in rows]

        return self._read(f"read the messages of execution {execution_id!r}", body)

    def last_messages(
        self, execution_id: int, count: int = 1, *, progress: bool = False
    ) -> List[MessageRecord]:
        """The last ``count`` messages of an execution, oldest first (for ``top``).

        Args:
            execution_id: The execution.
            count: How many.
            progress: Include the row holding the execution's progress (level
                ``PROGRESS``, see :meth:`last_progress`); left out by default.

        Raises:
            DatabaseError: No such execution.
        """
        limit_value = sql_limit(count)
        which = "" if progress else f" AND level IS NOT '{PROGRESS_LEVEL}'"

        def body(conn: sqlite3.Connection) -> List[MessageRecord]:
            self._require_execution(conn, execution_id)
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE execution_id = ?{which}"
                " ORDER BY id DESC LIMIT ?",
                (execution_id, limit_value),
            )
            return [MessageRecord(*row) for row in reversed(rows.fetchall())]

        return self._read(f"read the last messages of execution {execution_id!r}", body)

    def last_progress(self, execution_id: int) -> Optional[MessageRecord]:
        """The progress the execution's Task reported last, or ``None`` if it reported none.

        Its :attr:`~lute.io.db.MessageRecord.progress` reads it: ``{"fraction", "done",
        "total", "text"}``; its ``time`` is when the Task reported it.

        Raises:
            DatabaseError: No such execution.
        """

        def body(conn: sqlite3.Connection) -> Optional[MessageRecord]:
            self._require_execution(conn, execution_id)
            row = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE execution_id = ? AND level = ?"
                " ORDER BY id DESC LIMIT 1",
                (execution_id, PROGRESS_LEVEL),
            ).fetchone()
            return None if row is None else MessageRecord(*row)

        return self._read(f"read the progress of execution {execution_id!r}", body)

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
        where = latest_filter(task_name, experiment, run, status, "latest_result")
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
        where = latest_filter(task_name, experiment, run, status, "latest_parameters")
        query = (
            "SELECT p.model FROM executions JOIN parameters AS p ON p.execution_id = executions.id"
            f"{where.sql()} ORDER BY executions.id DESC LIMIT 1"
        )
        return self._read_first(
            query, where, lambda row: decode_json(row[0]), f"the latest parameters of {task_name}"
        )

    def _read_first(
        self, query: str, where: Where, convert: Callable[[Any], T], what: str
    ) -> Optional[T]:
        """``convert`` of the first row ``query`` finds with ``where``'s values, or None."""

        def body(conn: sqlite3.Connection) -> Optional[T]:
            row = conn.execute(query, where.values).fetchone()
            return None if row is None else convert(row)

        return self._read("find " + what, body)
