"""Bringing the history of an original LUTE database (its layout v1) into this schema.

Private to :mod:`lute.io.db` (``Database.import_original``, ``lute-exec db import``),
which imports it only when an import is asked for.
The original file is opened read-only and never changed. Its layout:

- ``gen_cfg(id, title, experiment, run, date, lute_version, task_timeout)``: headers;
- ``exec_cfg(id, env, poll_interval, communicator_desc)`` with ``env`` as ``K=V;K=V``;
- one table per Task, named after it: ``id``, ``timestamp`` (UTC), ``gen_cfg_id``,
  ``exec_cfg_id``, one column per parameter (nested names flattened by dots:
  ``"compound_var.dict_var.a"``), ``"result.task_status"``, ``"result.summary"``,
  ``"result.payload"``, ``"result.impl_schemas"``, ``valid_flag``.

Each Task row becomes one execution (managed task: the Task's name, which the original
did not record), with its parameters rebuilt as nested mappings and the header as
``lute_config``, its result and its status. Where it came from is kept in its
``environment`` record, so importing the same file again adds nothing twice.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._records import ORIGIN
from lute.io.db._values import (
    TERMINAL_STATUSES,
    dump_json,
    encode_payload,
    flatten_parameters,
    format_summary,
    run_columns,
)

__all__ = ["import_original", "read_original"]

_SHARED_TABLES = ("gen_cfg", "exec_cfg")
_BOOKKEEPING = ("id", "timestamp", "gen_cfg_id", "exec_cfg_id", "valid_flag")
_RESULT = "result."


class OriginalRow:
    """One execution read from an original database, in this schema's terms."""

    def __init__(
        self,
        table: str,
        row_id: int,
        when: str,
        header: Dict[str, Any],
        parameters: Dict[str, Any],
        result: Dict[str, Any],
        valid: bool,
        executor: Dict[str, Any],
    ) -> None:
        self.table = table
        self.row_id = row_id
        self.when = when
        self.header = header
        self.parameters = parameters
        self.result = result
        self.valid = valid
        self.executor = executor

    def origin(self, path: str) -> Dict[str, Any]:
        """The ``environment`` record: where the execution was imported from."""
        return {
            "kind": ORIGIN,
            "imported_from": path,
            "original_table": self.table,
            "original_id": self.row_id,
            # valid_flag: the original's readers skipped an entry it marked not valid.
            "valid": self.valid,
            **self.executor,
        }


def _quote(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def _utc(text: Any) -> str:
    """An original ``timestamp`` (``2024-05-01 12:00:00``, UTC) as this schema's time."""
    import datetime

    if text is None:
        return "1970-01-01T00:00:00.000000+00:00"
    moment = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")


def _nest(flat: Dict[str, Any]) -> Dict[str, Any]:
    """``{"a.b": 1}`` as ``{"a": {"b": 1}}`` (the original flattened nested names)."""
    nested: Dict[str, Any] = {}
    for name, value in flat.items():
        node = nested
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return nested


def _value(value: Any) -> Any:
    """A stored value as JSON data: BLOBs become text where they are text."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return repr(data)
    return value


def _environment_text(text: Any) -> Dict[str, str]:
    pairs = {}
    for item in str(text or "").split(";"):
        name, sep, value = item.partition("=")
        if sep and name:
            pairs[name] = value
    return pairs


def _rows(conn: sqlite3.Connection, table: str) -> Iterator[Dict[str, Any]]:
    cursor = conn.execute("SELECT * FROM %s ORDER BY id" % _quote(table))
    names = [column[0] for column in cursor.description]
    for values in cursor:
        yield dict(zip(names, values))


def read_original(path: str) -> List[OriginalRow]:
    """Every execution of an original LUTE database, oldest first.

    Raises:
        DatabaseError: The file is missing or not in the original layout.
    """
    import os

    if not os.path.isfile(path):
        raise DatabaseError("%s does not exist" % path)
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    except sqlite3.Error as error:
        raise DatabaseError("cannot open %s: %s" % (path, error)) from None
    try:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        if "gen_cfg" not in tables:
            raise DatabaseError(
                "%s is not an original LUTE database: it has no gen_cfg table" % path
            )
        headers = {row["id"]: row for row in _rows(conn, "gen_cfg")}
        executors = (
            {row["id"]: row for row in _rows(conn, "exec_cfg")} if "exec_cfg" in tables else {}
        )
        found: List[OriginalRow] = []
        for table in tables:
            if table in _SHARED_TABLES or table.startswith("sqlite_"):
                continue
            for row in _rows(conn, table):
                found.append(_original_row(table, row, headers, executors))
    except sqlite3.Error as error:
        raise DatabaseError("cannot read %s: %s" % (path, error)) from None
    finally:
        conn.close()
    found.sort(key=lambda item: (item.when, item.table, item.row_id))
    return found


def _original_row(
    table: str,
    row: Dict[str, Any],
    headers: Dict[Any, Dict[str, Any]],
    executors: Dict[Any, Dict[str, Any]],
) -> OriginalRow:
    header = {k: _value(v) for k, v in headers.get(row.get("gen_cfg_id"), {}).items() if k != "id"}
    executor_row = executors.get(row.get("exec_cfg_id"), {})
    executor = {
        "variables": _environment_text(executor_row.get("env")),
        "poll_interval": executor_row.get("poll_interval"),
        "communicator_desc": executor_row.get("communicator_desc"),
    }
    flat: Dict[str, Any] = {}
    result: Dict[str, Any] = {}
    for name, value in row.items():
        if name in _BOOKKEEPING:
            continue
        if name.startswith(_RESULT):
            result[name[len(_RESULT) :]] = _value(value)
        else:
            flat[name] = _value(value)
    parameters = _nest(flat)
    parameters["lute_config"] = header
    return OriginalRow(
        table,
        int(row["id"]),
        _utc(row.get("timestamp")),
        header,
        parameters,
        result,
        bool(row.get("valid_flag")),
        executor,
    )


def _status(item: OriginalRow) -> Tuple[str, Optional[str], List[str]]:
    """(status, error, warnings) of an imported execution."""
    status = str(item.result.get("task_status") or "").upper() or "COMPLETED"
    warnings: List[str] = []
    error = None
    if status not in TERMINAL_STATUSES:
        # Nothing more will ever be heard of it: how it ended was not recorded.
        error = "imported with status %s: how it ended was never recorded" % status
        status = "LOST"
    if not item.valid and status == "COMPLETED":
        warnings.append("marked not valid (valid_flag 0) in the original database")
    return status, error, warnings


def import_original(db: DatabaseCore, path: str) -> List[int]:
    """Add the executions of an original LUTE database (read-only) to ``db``, in one
    transaction; see ``Database.import_original``."""
    import os

    source = os.path.abspath(path)
    items = read_original(source)

    def body(conn: sqlite3.Connection) -> List[int]:
        done = _imported(conn, source)
        return [
            _insert(conn, source, item) for item in items if (item.table, item.row_id) not in done
        ]

    return db._write("import %s" % source, body)


def _imported(conn: sqlite3.Connection, source: str) -> Set[Tuple[str, int]]:
    done = set()
    rows = conn.execute(
        "SELECT environment FROM executions WHERE environment LIKE ?", ("%" + ORIGIN + "%",)
    )
    for (text,) in rows:
        record = json.loads(text)
        if record.get("kind") == ORIGIN and record.get("imported_from") == source:
            done.add((record.get("original_table"), record.get("original_id")))
    return done


def _insert(conn: sqlite3.Connection, source: str, item: OriginalRow) -> int:
    status, error, warnings = _status(item)
    run_text, run_number = run_columns(item.header.get("run") or None)
    version = item.header.get("lute_version")
    columns = {
        "managed_task": item.table,
        "task_name": item.table,
        "experiment": item.header.get("experiment") or None,
        "run": run_text,
        "run_number": run_number,
        "status": status,
        "created": item.when,
        "started": item.when,
        "ended": item.when,
        "environment": dump_json(item.origin(source)),
        "versions": dump_json({"lute": str(version)} if version is not None else {}),
        "error": error,
        "warnings": dump_json(warnings) if warnings else None,
    }
    names = ", ".join(columns)
    cursor = conn.execute(
        "INSERT INTO executions (%s) VALUES (%s)" % (names, ", ".join("?" * len(columns))),
        tuple(columns.values()),
    )
    execution_id = int(cursor.lastrowid)  # type: ignore[arg-type]
    parameters_id = conn.execute(
        "INSERT INTO parameters (execution_id, model) VALUES (?, ?)",
        (execution_id, dump_json(item.parameters)),
    ).lastrowid
    conn.executemany(
        "INSERT INTO parameter_values (parameters_id, path, value) VALUES (?, ?, ?)",
        [(parameters_id, leaf, value) for leaf, value in flatten_parameters(item.parameters)],
    )
    summary, payload = item.result.get("summary"), item.result.get("payload")
    if summary not in (None, "") or payload not in (None, ""):
        payload_text, payload_type, encoding = encode_payload(payload)
        task_result_id = conn.execute(
            "INSERT INTO task_results (execution_id, task_status, payload, payload_type,"
            " payload_encoding, created) VALUES (?, ?, ?, ?, ?, ?)",
            (execution_id, status, payload_text, payload_type, encoding, item.when),
        ).lastrowid
        for position, (kind, text) in enumerate(format_summary(summary)):
            conn.execute(
                "INSERT INTO results (task_result_id, execution_id, position, kind, summary)"
                " VALUES (?, ?, ?, ?, ?)",
                (task_result_id, execution_id, position, kind, text),
            )
    return execution_id
