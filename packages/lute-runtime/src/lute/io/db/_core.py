"""The connection and transactions behind a :class:`lute.io.db.Database`. Private.

:class:`DatabaseCore` owns the state of a ``Database``: one SQLite connection behind a
lock, reopened after ``fork()``, and the lifetime (``close``, context manager). Every
read and write runs through :meth:`DatabaseCore._read` / :meth:`DatabaseCore._write`:
one short transaction, retried while the file is locked, within ``timeout`` seconds.
The writer and reader mixins add the public methods on top of it.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from types import TracebackType
from typing import Any, Callable, List, Optional, Type, TypeVar

from lute.io.db._arguments import execution_key
from lute.io.db._connect import (
    DatabaseError,
    apply_journal_mode,
    connect,
    resolve_journal_mode,
    retry_busy,
)
from lute.io.db._schema import ensure_schema

__all__ = ["DatabaseCore"]

T = TypeVar("T")
_Self = TypeVar("_Self", bound="DatabaseCore")


class DatabaseCore:
    """One connection to a results database file, and its transactions.

    The arguments are those of :class:`lute.io.db.Database`, which documents them.
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
        row = conn.execute(
            "SELECT status FROM executions WHERE id = ?", (execution_key(execution_id),)
        )
        found = row.fetchone()
        if found is None:
            raise self._no_execution(execution_id)
        return str(found[0])

    def _no_execution(self, execution_id: Any) -> DatabaseError:
        return DatabaseError(f"no execution with id {execution_id} in {self._path}")

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

    # ------------------------------------------------------------------- lifetime

    def close(self) -> None:
        """Close the connection; further use raises :class:`DatabaseError`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if os.getpid() == self._pid:
                self._conn.close()

    def __enter__(self: _Self) -> _Self:
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
