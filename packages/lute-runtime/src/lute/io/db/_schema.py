"""Creation and upgrade of the results database's schema. Private to :mod:`lute.io.db`.

The layout itself is in :mod:`lute.io.db._tables`, the upgrades of older files in
:mod:`lute.io.db._migrations`. A change to the layout edits the tables, adds a migration
and bumps ``SCHEMA_VERSION``; ``docs/database.md`` documents it for users.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence, Tuple

from lute.io.db._connect import DatabaseError, retry_busy
from lute.io.db._migrations import MIGRATIONS
from lute.io.db._tables import SCHEMA, SCHEMA_VERSION

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "ensure_schema"]

# PRAGMA application_id marks the file as LUTE's ("LUTE" in ASCII).
APPLICATION_ID = 0x4C555445


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


def _original_lute(conn: sqlite3.Connection, path: str) -> None:
    """Refuse a database of the original LUTE, saying how to bring its history here."""
    found = conn.execute(
        "SELECT count(*) FROM sqlite_master"
        " WHERE type = 'table' AND name IN ('gen_cfg', 'exec_cfg')"
    ).fetchone()[0]
    if found:
        raise DatabaseError(
            f"{path} was written by the original LUTE (tables gen_cfg, exec_cfg and one per "
            "Task), which this lute-runtime does not read or change; import its executions "
            f"into a database of this version with `lute-exec db import {path} --into NEW.db` "
            "(then use NEW.db as db_path, or move it to <work_dir>/lute.db)"
        )


def _statements(conn: sqlite3.Connection, path: str, current: int) -> Sequence[str]:
    """What takes the file from version ``current`` to :data:`SCHEMA_VERSION`."""
    if current == 0:
        count = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if count:
            _original_lute(conn, path)
            raise DatabaseError(
                f"{path} already holds {count} tables/indexes of something else; it is "
                "not a LUTE results database"
            )
        return SCHEMA
    return [
        stmt for target in range(current + 1, SCHEMA_VERSION + 1) for stmt in MIGRATIONS[target]
    ]


def _upgrade(conn: sqlite3.Connection, path: str) -> None:
    """One attempt at creating or upgrading the schema, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current, current_app = _header(conn)
        _check_header(path, current, current_app)
        if current < SCHEMA_VERSION:  # else another process finished it meanwhile
            for statement in _statements(conn, path, current):
                conn.execute(statement)
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise DatabaseError(
                    f"upgrading {path} from schema version {current} left rows whose "
                    f"references do not resolve: {broken[:5]}; the file is unchanged"
                )
        # PRAGMA arguments cannot be bound parameters; both values are our integers.
        conn.execute(f"PRAGMA application_id={APPLICATION_ID:d}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def ensure_schema(conn: sqlite3.Connection, path: str, *, readonly: bool, timeout: float) -> None:
    """Create or upgrade the schema of ``path``, or check it when read-only.

    Safe when many processes open a fresh (or old) file at the same instant: the check
    and the creation or upgrade happen inside one ``BEGIN IMMEDIATE`` transaction, so
    exactly one of them changes the file and the others see the finished schema.

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
            retry_busy(lambda: _original_lute(conn, path), timeout, f"reading {path}")
            raise DatabaseError(f"{path} is not a LUTE results database (it has no schema)")
        raise DatabaseError(
            f"results database {path} has the older schema version {version}; open it once "
            f"without readonly to upgrade it to version {SCHEMA_VERSION}"
        )
    # A rebuilt table is dropped and replaced: with foreign keys on, dropping it would
    # delete every row that refers to it. The pragma is a no-op inside a transaction.
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        retry_busy(lambda: _upgrade(conn, path), timeout, f"creating the schema of {path}")
    finally:
        conn.execute("PRAGMA foreign_keys=ON")
