"""``read_latest_db_entry``: the original LUTE's reader, answered from this schema.

Private to :mod:`lute.io.db`, which exports the function. Original parameter models call
it in their validators to find what an earlier Task produced::

    filename = read_latest_db_entry(work_dir, "TestWriteOutput", "outfile_name")

It gives the value of one parameter (a dotted path, ``"compound_var.dict_var.a"``) or of
one part of the result (``"result.payload"``, ``"result.summary"``,
``"result.task_status"``, ``"result.impl_schemas"``) of the newest matching execution,
or ``None`` when there is no database or nothing matches -- as the original did.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, List, Optional, Union

from lute.io.db._connect import DatabaseError
from lute.io.db._outputs import ResultRecord
from lute.io.db._pending import pending_result
from lute.io.db._reader import ReaderMixin
from lute.io.db._records import ExecutionRecord, marked_not_valid
from lute.settings import RUN

__all__ = ["read_latest_db_entry"]

_RESULT_PARTS = ("task_status", "summary", "payload", "impl_schemas")
# Keeps "for_run not given" apart from an explicit None (every run).
_FROM_ENVIRONMENT: Any = object()
#: Executions read at a time while looking past ones the original marked not valid.
_BATCH = 50


class _Reader(ReaderMixin):
    """The read side of a database file, opened read-only."""


def _database_file(db_dir: str) -> str:
    """The database of ``db_dir`` (a work directory, as the original took, or the file)."""
    path = os.path.abspath(os.path.expanduser(os.fspath(db_dir)))
    if os.path.isdir(path):
        return os.path.join(path, "lute.db")
    return path


def _leaf(model: Any, path: str) -> Any:
    """The value at a dotted path of a parameter model (``None`` where there is none)."""
    node = model
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def read_latest_db_entry(
    db_dir: str,
    task_name: str,
    param: str,
    valid_only: bool = True,
    for_run: Optional[Union[str, int]] = _FROM_ENVIRONMENT,
) -> Optional[Any]:
    """The most recent value recorded for a parameter (or the result) of a Task.

    The original LUTE's function, with its signature: models written for it work
    unchanged. It reads this project's database.

    Args:
        db_dir: The work directory (its ``lute.db`` is read), or the database file.
        task_name: The Task's name (``"TestWriteOutput"``).
        param: A parameter's dotted path (``"outfile_name"``,
            ``"compound_var.dict_var.a"``, ``"lute_config.run"``), or ``"result.payload"``,
            ``"result.summary"``, ``"result.task_status"``, ``"result.impl_schemas"``.
        valid_only: Only executions that COMPLETED (the original's valid entries), and
            not those imported from an original database that marked them not valid
            (``valid_flag`` 0); ``False``: any status.
        for_run: Only executions of this run (numeric runs match by value: ``12`` finds
            ``"0012"``); ``None``: any run. Default: ``$RUN`` when set, else any run (read
            at each call; the original read it once, at import).

    Returns:
        The value (parameters as stored: numbers, text, lists, mappings), or ``None``
        when the database does not exist or nothing matches. While a workflow is checked
        before submission, a Task an upstream node will run gives a placeholder text
        (:class:`~lute.io.db.PendingResult`); the job's own validation reads the value.

    Raises:
        DatabaseError: The file is not a database of this project (e.g. one written by
            the original LUTE: the message says how to import it) or cannot be read.
    """
    placeholder = pending_result(task_name)
    if placeholder is not None:
        return placeholder
    if for_run is _FROM_ENVIRONMENT:
        for_run = RUN.get()
    path = _database_file(db_dir)
    if not os.path.exists(path):
        return None
    db = _Reader(path, readonly=True)
    status = "COMPLETED" if valid_only else None
    run = for_run if for_run not in ("",) else None
    with db:
        if param.startswith("result."):
            return _result_part(db, task_name, param, run, status)
        found = _newest(db, task_name, run, status)
        if found is None:
            return None
        return _leaf(db.parameters(found.id), param)


def _candidates(
    db: _Reader, task_name: str, run: Any, status: Optional[str]
) -> Iterator[ExecutionRecord]:
    """The matching executions, newest first, read a batch at a time; with ``status``
    (``valid_only``), not those the original marked not valid."""
    offset, limit = 0, 1  # the newest is nearly always the answer: read it alone first
    while True:
        batch = db.executions(
            task_name=task_name, run=run, status=status, limit=limit, offset=offset
        )
        for record in batch:
            if status is None or not marked_not_valid(record.environment):
                yield record
        if len(batch) < limit:
            return
        offset, limit = offset + limit, _BATCH


def _newest(
    db: _Reader, task_name: str, run: Any, status: Optional[str]
) -> Optional[ExecutionRecord]:
    """The newest matching execution (see :func:`_candidates`)."""
    return next(_candidates(db, task_name, run, status), None)


def _newest_result(
    db: _Reader, task_name: str, run: Any, status: Optional[str]
) -> Optional[ResultRecord]:
    """The last result item of the newest matching execution that has results; with
    ``status``, of one the original did not mark not valid."""
    latest = db.latest_result(task_name, run=run, status=status)
    if latest is None or status is None:
        return latest
    if not marked_not_valid(db.execution(latest.execution_id).environment):
        return latest
    for record in _candidates(db, task_name, run, status):  # rare: the newest is not valid
        items = db.results(record.id)
        if items:
            return items[-1]
    return None


def _result_part(
    db: _Reader, task_name: str, param: str, run: Any, status: Optional[str]
) -> Optional[Any]:
    part = param[len("result.") :]
    if part not in _RESULT_PARTS:
        raise DatabaseError(
            "read_latest_db_entry: %r is not a part of a result; use one of %s"
            % (param, ", ".join("result." + name for name in _RESULT_PARTS))
        )
    if part == "task_status":
        found = _newest(db, task_name, run, status)
        return found.status if found else None
    if part == "impl_schemas":
        return None  # not recorded by this project: a model's impl_schemas is in its code
    latest = _newest_result(db, task_name, run, status)
    if latest is None:
        return None
    if part == "payload":
        return latest.payload
    items: List[str] = [item.summary for item in db.results(latest.execution_id)]
    return ";".join(text for text in items if text)
