"""The reader side of :class:`lute.io.db.Database`: what validators and ``db`` ask. Private.

:class:`ReaderMixin` adds the queries: one execution and its parameters, results and
messages by id, executions by filter, and the latest result or parameters of a Task.
Each runs in one deferred transaction, so its SELECTs see one snapshot.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar, Union

from lute.io.db._arguments import RunLike, StatusLike
from lute.io.db._core import DatabaseCore
from lute.io.db._query import Where, execution_filter, latest_filter, sql_limit
from lute.io.db._records import (
    EXECUTION_COLUMNS,
    RESULT_COLUMNS,
    ExecutionRecord,
    ResultRecord,
    execution_from_row,
    result_from_row,
)
from lute.io.db._values import decode_json

__all__ = ["ReaderMixin"]

T = TypeVar("T")


class ReaderMixin(DatabaseCore):
    """The methods that read the database; see :class:`lute.io.db.Database`."""

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
        where = execution_filter(
            task_name=task_name,
            managed_task=managed_task,
            experiment=experiment,
            run=run,
            status=status,
        )
        limit_value = sql_limit(limit)
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
