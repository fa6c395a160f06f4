"""Schema of the results database and its creation/upgrade. Private to :mod:`lute.io.db`.

The layout is documented for users in ``docs/database.md``; keep both in step. A change
to the layout adds a new entry to ``_MIGRATIONS`` and bumps ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import sqlite3
from typing import Dict, Sequence, Tuple

from lute.io.db._connect import DatabaseError, retry_busy

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "ensure_schema"]

SCHEMA_VERSION = 1
# PRAGMA application_id marks the file as LUTE's ("LUTE" in ASCII).
APPLICATION_ID = 0x4C555445

_STATUSES = "('PENDING','RUNNING','COMPLETED','FAILED','TIMEDOUT','CANCELLED','STOPPED')"

_V1 = (
    # One row per managed-task execution. AUTOINCREMENT so ids are never reused: "newest"
    # means "highest id" everywhere.
    f"""
    CREATE TABLE executions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        managed_task  TEXT NOT NULL,
        task_name     TEXT NOT NULL,
        experiment    TEXT,
        run           TEXT,
        run_number    INTEGER,
        status        TEXT NOT NULL CHECK (status IN {_STATUSES}),
        created       TEXT NOT NULL,
        started       TEXT,
        ended         TEXT,
        exit_code     INTEGER,
        signal        TEXT,
        host          TEXT,
        user          TEXT,
        pid           INTEGER,
        work_dir      TEXT,
        environment   TEXT,
        versions      TEXT,
        error         TEXT,
        config_path   TEXT
    )
    """,
    "CREATE INDEX executions_lookup ON executions (task_name, experiment, run_number)",
    # The validated model of an execution, whole, and one row per leaf parameter.
    """
    CREATE TABLE parameters (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id  INTEGER NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
        model         TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE parameter_values (
        parameters_id INTEGER NOT NULL REFERENCES parameters (id) ON DELETE CASCADE,
        path          TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (parameters_id, path)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX parameter_values_path ON parameter_values (path)",
    # One row per reported TaskResult (its payload and status) ...
    f"""
    CREATE TABLE task_results (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id     INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        task_status      TEXT CHECK (task_status IS NULL OR task_status IN {_STATUSES}),
        payload          TEXT,
        payload_type     TEXT,
        payload_encoding TEXT CHECK (payload_encoding IS NULL
                                     OR payload_encoding IN ('json', 'repr')),
        created          TEXT NOT NULL,
        UNIQUE (id, execution_id)
    )
    """,
    "CREATE INDEX task_results_execution ON task_results (execution_id)",
    # ... and one row per item of its summary. execution_id is repeated here so that
    # positions are unique per execution; the composite key keeps it consistent.
    """
    CREATE TABLE results (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        task_result_id INTEGER NOT NULL,
        execution_id   INTEGER NOT NULL,
        position       INTEGER NOT NULL,
        kind           TEXT NOT NULL,
        summary        TEXT NOT NULL,
        UNIQUE (execution_id, position),
        FOREIGN KEY (task_result_id, execution_id)
            REFERENCES task_results (id, execution_id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX results_task_result ON results (task_result_id)",
    """
    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        execution_id  INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        time          TEXT NOT NULL,
        rank          INTEGER,
        text          TEXT NOT NULL
    )
    """,
    "CREATE INDEX messages_execution ON messages (execution_id, id)",
    # Views for the sqlite3 shell: each result item / parameter with its execution.
    """
    CREATE VIEW result_view AS
    SELECT r.id AS id, r.execution_id AS execution_id, e.managed_task AS managed_task,
           e.task_name AS task_name, e.experiment AS experiment, e.run AS run,
           e.run_number AS run_number, e.status AS status, r.position AS position,
           r.kind AS kind, r.summary AS summary, t.payload AS payload,
           t.payload_type AS payload_type, t.payload_encoding AS payload_encoding,
           t.task_status AS task_status, t.created AS created,
           r.task_result_id AS task_result_id
    FROM results AS r
    JOIN task_results AS t ON t.id = r.task_result_id
    JOIN executions AS e ON e.id = r.execution_id
    """,
    """
    CREATE VIEW parameter_view AS
    SELECT p.execution_id AS execution_id, e.managed_task AS managed_task,
           e.task_name AS task_name, e.experiment AS experiment, e.run AS run,
           e.run_number AS run_number, e.status AS status, v.path AS path,
           v.value AS value
    FROM parameter_values AS v
    JOIN parameters AS p ON p.id = v.parameters_id
    JOIN executions AS e ON e.id = p.execution_id
    """,
)

# version reached -> statements that take the previous version there.
_MIGRATIONS: Dict[int, Sequence[str]] = {1: _V1}


def _header(conn: sqlite3.Connection) -> Tuple[int, int]:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    return version, app_id


def _check_header(path: str, version: int, app_id: int) -> None:
    if app_id not in (0, APPLICATION_ID):
        raise DatabaseError(
            f"{path} is an SQLite file of another application (application_id {app_id:#x}), "
            "not a LUTE results database"
        )
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"results database {path} has schema version {version}, newer than version "
            f"{SCHEMA_VERSION} known to this lute-runtime; upgrade lute-runtime to read or "
            "write it"
        )


def ensure_schema(conn: sqlite3.Connection, path: str, *, readonly: bool, timeout: float) -> None:
    """Create or upgrade the schema of ``path``, or check it when read-only.

    Safe when many processes open a fresh file at the same instant: the check and the
    creation happen inside one ``BEGIN IMMEDIATE`` transaction, so exactly one of them
    creates the tables and the others see the finished schema.

    Raises:
        DatabaseError: Newer schema than this code, a foreign SQLite file, or (read-only)
            a file without the current schema.
    """
    version, app_id = retry_busy(lambda: _header(conn), timeout, f"reading {path}")
    _check_header(path, version, app_id)
    if version == SCHEMA_VERSION:
        return
    if readonly:
        if version == 0:
            raise DatabaseError(f"{path} is not a LUTE results database (it has no schema)")
        raise DatabaseError(
            f"results database {path} has the older schema version {version}; open it once "
            f"without readonly to upgrade it to version {SCHEMA_VERSION}"
        )

    def attempt() -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current, current_app = _header(conn)
            _check_header(path, current, current_app)
            if current == 0:
                count = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if count:
                    raise DatabaseError(
                        f"{path} already holds {count} tables/indexes of something else; it is "
                        "not a LUTE results database"
                    )
            for target in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
            # PRAGMA arguments cannot be bound parameters; both values are our integers.
            conn.execute(f"PRAGMA application_id={APPLICATION_ID:d}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    retry_busy(attempt, timeout, f"creating the schema of {path}")
