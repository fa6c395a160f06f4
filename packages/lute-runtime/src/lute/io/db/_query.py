"""The filters of the reader's queries, as SQL. Private to ``lute.io.db``.

A reader method turns its filter arguments into a :class:`Where`: ``AND``-ed SQL
conditions whose values are always bound parameters, never spliced into the text.
"""

from __future__ import annotations

from typing import Any, List

from lute.io.db._arguments import execution_key, job_id, required_name, time_bound
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
        if not status:
            raise DatabaseError(f"{what}: status must name at least one status, got {status!r}")
        return [normalise_status(item, what) for item in status]
    return [normalise_status(status, what)]


def _name(value: Any, what: str) -> str:
    """A name filter's value: a string (``experiment=12`` would silently find nothing)."""
    if not isinstance(value, str):
        raise DatabaseError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    return value


def execution_filter(
    *,
    task_name: Any = None,
    managed_task: Any = None,
    experiment: Any = None,
    run: Any = None,
    created_after: Any = None,
    created_before: Any = None,
    started_after: Any = None,
    started_before: Any = None,
    submission_id: Any = None,
    slurm_job_id: Any = None,
) -> Where:
    """The filter of ``Database.executions`` except its status: every argument that is
    not ``None`` matches. ``*_after`` means at or after, ``*_before`` strictly before."""
    where = Where()
    for column, value in (
        ("task_name", task_name),
        ("managed_task", managed_task),
        ("experiment", experiment),
    ):
        if value is not None:
            where.add(f"{column} = ?", _name(value, f"executions: {column}"))
    if run is not None:
        where.run(run)
    for column, operator, value in (
        ("created", ">=", created_after),
        ("created", "<", created_before),
        ("started", ">=", started_after),
        ("started", "<", started_before),
    ):
        which = "after" if operator == ">=" else "before"
        bound = time_bound(value, f"executions: {column}_{which}")
        if bound is not None:
            where.add(f"{column} {operator} ?", bound)
    if submission_id is not None:
        where.add("submission_id = ?", execution_key(submission_id, "executions: submission_id"))
    if slurm_job_id is not None:
        where.add("slurm_job_id = ?", job_id(slurm_job_id, "executions: slurm_job_id"))
    return where


def latest_filter(task_name: str, experiment: Any, run: Any, status: Any, what: str) -> Where:
    """The filter of ``Database.latest_result`` / ``latest_parameters`` (``what``)."""
    where = Where()
    where.add("task_name = ?", required_name(task_name, f"{what}: task_name"))
    if experiment is not None:
        where.add("experiment = ?", _name(experiment, f"{what}: experiment"))
    if run is not None:
        where.run(run)
    if status is not None:
        where.add("status = ?", normalise_status(status, what))
    return where


def sql_limit(limit: Any, what: str = "limit") -> int:
    """SQLite's LIMIT value; -1 means no limit."""
    if limit is None:
        return -1
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise DatabaseError(f"{what} must be a non-negative int or None, got {limit!r}")
    return limit
