"""The filters of the reader's queries, as SQL. Private to ``lute.io.db``.

A reader method turns its filter arguments into a :class:`Where`: ``AND``-ed SQL
conditions whose values are always bound parameters, never spliced into the text.
"""

from __future__ import annotations

from typing import Any, List

from lute.io.db._arguments import required_name
from lute.io.db._connect import DatabaseError
from lute.io.db._values import normalise_status, run_columns

__all__ = ["Where", "execution_filter", "latest_filter", "sql_limit", "status_names"]


class Where:
    """Collects ``AND``-ed SQL conditions with their bound values."""

    def __init__(self) -> None:
        self.clauses: List[str] = []
        self.values: List[Any] = []

    def add(self, clause: str, *values: Any) -> None:
        """Add one condition with ``?`` placeholders and the values they bind."""
        self.clauses.append(clause)
        self.values.extend(values)

    def run(self, run: Any) -> None:
        """Match a run as the API documents it."""
        # A numeric run matches by value ("0012" == 12); any other text matches exactly.
        text, number = run_columns(run)
        if number is not None:
            self.add("run_number = ?", number)
        else:
            self.add("run = ?", text)

    def sql(self) -> str:
        """The ``WHERE`` clause, with a leading space; empty when nothing was added."""
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


def status_names(status: Any, what: str) -> List[str]:
    """The stored names of a status filter: one status, or several (any of them)."""
    if isinstance(status, (list, tuple, set, frozenset)):
        return [normalise_status(item, what) for item in status]
    return [normalise_status(status, what)]


def execution_filter(
    *, task_name: Any, managed_task: Any, experiment: Any, run: Any, status: Any
) -> Where:
    """The filter of ``Database.executions``: every argument that is not ``None`` matches."""
    where = Where()
    if task_name is not None:
        where.add("task_name = ?", task_name)
    if managed_task is not None:
        where.add("managed_task = ?", managed_task)
    if experiment is not None:
        where.add("experiment = ?", experiment)
    if run is not None:
        where.run(run)
    if status is not None:
        names = status_names(status, "executions")
        marks = ", ".join("?" * len(names))
        where.add(f"status IN ({marks})", *names)
    return where


def latest_filter(task_name: str, experiment: Any, run: Any, status: Any, what: str) -> Where:
    """The filter of ``Database.latest_result`` / ``latest_parameters`` (``what``)."""
    where = Where()
    where.add("task_name = ?", required_name(task_name, f"{what}: task_name"))
    if experiment is not None:
        where.add("experiment = ?", experiment)
    if run is not None:
        where.run(run)
    if status is not None:
        where.add("status = ?", normalise_status(status, what))
    return where


def sql_limit(limit: Any) -> int:
    """SQLite's LIMIT value; -1 means no limit."""
    if limit is None:
        return -1
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise DatabaseError(f"limit must be a non-negative int or None, got {limit!r}")
    return limit
