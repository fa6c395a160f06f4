"""Upgrades of older results databases to the current schema. Private to :mod:`lute.io.db`.

Each entry of :data:`MIGRATIONS` takes a file from the version before it to its own
version, keeping every row. They run inside the one ``BEGIN IMMEDIATE`` transaction of
:func:`lute.io.db._schema.ensure_schema`, with foreign keys switched off (a rebuilt table
is dropped and replaced; with foreign keys on, dropping it would delete the rows that
refer to it), and are followed by ``PRAGMA foreign_key_check``.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from lute.io.db._tables import (
    EXECUTION_INDEXES,
    EXECUTIONS,
    RERUN_COLUMN,
    SUBMISSIONS,
    TASK_RESULT_INDEXES,
    TASK_RESULTS,
    VIEWS,
    WORKFLOWS,
)

__all__ = ["MIGRATIONS"]

_V1_EXECUTION_COLUMNS = (
    "id, managed_task, task_name, experiment, run, run_number, status, created, started,"
    " ended, exit_code, signal, host, user, pid, work_dir, environment, versions, error,"
    " config_path"
)
_V1_TASK_RESULT_COLUMNS = (
    "id, execution_id, task_status, payload, payload_type, payload_encoding, created"
)


def _rebuild(table: str, create: str, columns: str, extra: str = "", values: str = "") -> List[str]:
    """The SQLite steps that replace ``table`` by a new definition, keeping its rows.

    The new table is filled beside the old one, the old one dropped and the new one
    renamed (never the other way round: renaming the old table would make the tables
    that refer to it follow the rename). Its AUTOINCREMENT sequence is carried over, so
    ids of deleted rows stay unused.
    """
    new = table + "_v2"
    return [
        create.format(name=new),
        f"INSERT INTO {new} ({columns}{extra}) SELECT {columns}{values} FROM {table}",
        f"DELETE FROM sqlite_sequence WHERE name = '{new}'",
        f"INSERT INTO sqlite_sequence (name, seq)"
        f" SELECT '{new}', seq FROM sqlite_sequence WHERE name = '{table}'",
        f"DROP TABLE {table}",
        f"ALTER TABLE {new} RENAME TO {table}",
    ]


# Version 2: the statuses QUEUED and LOST (new CHECK constraints, hence the rebuilt
# tables), who supervises an execution and its heartbeat, message counts, log/report
# paths, warnings, SLURM submissions, and results kept undecoded.
_V2 = [
    # Views name the rebuilt tables: drop them first, create them again at the end.
    "DROP VIEW result_view",
    "DROP VIEW parameter_view",
    SUBMISSIONS,
    *_rebuild(
        "executions",
        # As version 2 had it: version 3 adds its column below.
        EXECUTIONS.replace(RERUN_COLUMN, ""),
        _V1_EXECUTION_COLUMNS,
        # Before version 2 every received message was stored.
        extra=", messages_received",
        values=", (SELECT count(*) FROM messages AS m WHERE m.execution_id = executions.id)",
    ),
    *EXECUTION_INDEXES,
    *_rebuild("task_results", TASK_RESULTS, _V1_TASK_RESULT_COLUMNS),
    *TASK_RESULT_INDEXES,
    *VIEWS,
]

# Version 3: the level of a message a Task logged (NULL for a plain message) and the
# execution a rerun repeats. Added columns only: no row is touched.
_V3 = [
    "ALTER TABLE messages ADD COLUMN level TEXT",
    "ALTER TABLE executions ADD COLUMN rerun_of INTEGER"
    " REFERENCES executions (id) ON DELETE SET NULL",
]

# Version 4: workflows, their nodes, executions and each execution's parents (new
# tables only).
_V4 = [*WORKFLOWS]

# version reached -> statements that take the previous version there. Version 1 is
# created only by the schema-1 code; a new file gets the current schema directly.
MIGRATIONS: Dict[int, Sequence[str]] = {2: _V2, 3: _V3, 4: _V4}
