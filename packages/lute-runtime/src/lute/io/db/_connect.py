"""Opening SQLite connections for the results database and retrying busy writes.

Private to :mod:`lute.io.db`. Many ``lute-exec`` processes write one file at once, so
every operation here is bounded in time and survives the ``SQLITE_BUSY`` cases that
SQLite's own busy handler does not cover (WAL recovery, lock upgrades, a COMMIT that
waits for readers in rollback-journal mode).
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Callable, Optional, TypeVar

from lute.settings import DB_JOURNAL_MODE

__all__ = [
    "JOURNAL_MODE_ENV",
    "DatabaseError",
    "apply_journal_mode",
    "connect",
    "is_busy",
    "resolve_journal_mode",
    "retry_busy",
]

T = TypeVar("T")

JOURNAL_MODE_ENV = DB_JOURNAL_MODE.name
# Modes that keep the file consistent after a crash; MEMORY and OFF do not.
_JOURNAL_MODES = ("WAL", "DELETE", "TRUNCATE", "PERSIST")

# Back-off between attempts: short first (most contention clears within milliseconds),
# capped so that a waiting writer still checks the deadline regularly.
_FIRST_DELAY = 0.002
_MAX_DELAY = 0.25


class DatabaseError(Exception):
    """Anything that went wrong opening, reading or writing the results database.

    The message names the database file and what was wrong.
    """


def resolve_journal_mode(requested: Optional[str]) -> str:
    """The journal mode to use: the argument, else ``$LUTE_DB_JOURNAL_MODE``, else WAL.

    Raises:
        DatabaseError: The mode is not one SQLite keeps crash-safe.
    """
    source = "journal_mode argument"
    if requested is None:
        requested = DB_JOURNAL_MODE.raw() or DB_JOURNAL_MODE.default
        source = "$" + JOURNAL_MODE_ENV
    mode = requested.strip().upper()
    if mode not in _JOURNAL_MODES:
        choices = ", ".join(_JOURNAL_MODES)
        raise DatabaseError(
            f"unsupported SQLite journal mode {requested!r} (from {source}); use one of {choices}"
        )
    return mode


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying another connection holds a lock."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    # sqlite_errorcode only exists on 3.11+, so the message is the portable signal.
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def retry_busy(operation: Callable[[], T], timeout: float, what: str) -> T:
    """Run ``operation`` until it does not fail with SQLITE_BUSY, for at most ``timeout`` s.

    The delay between attempts grows exponentially with full jitter so that writers that
    collided do not collide again in lock-step.

    Args:
        operation: A callable that performs one complete attempt (and cleans up after a
            failed one itself).
        timeout: Seconds after which a still-busy database is an error.
        what: Description used in the error message, e.g. ``"writing /w/lute.db"``.

    Raises:
        DatabaseError: Still busy when the time ran out.
    """
    deadline = time.monotonic() + timeout
    delay = _FIRST_DELAY
    attempts = 0
    while True:
        attempts += 1
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DatabaseError(
                    f"{what}: the database stayed locked by other writers for {timeout:.1f} s "
                    f"({attempts} attempts, last error: {exc})"
                ) from exc
            import random  # only once the file is busy: not worth its import otherwise

            time.sleep(min(random.uniform(0, delay), remaining))
            delay = min(delay * 2, _MAX_DELAY)


def connect(path: str, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    """Open a connection in autocommit mode, transactions being managed explicitly.

    Args:
        path: Absolute path of the database file.
        readonly: Open with ``mode=ro`` (the file must exist).
        timeout: SQLite busy timeout in seconds.

    Raises:
        DatabaseError: The file is missing (read-only) or cannot be opened.
    """
    try:
        if readonly:
            if not os.path.isfile(path):
                raise DatabaseError(f"results database {path} does not exist")
            from urllib.parse import quote  # only read-only opens need a URI

            uri = f"file:{quote(path)}?mode=ro"
            conn = sqlite3.connect(
                uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        else:
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                raise DatabaseError(
                    f"cannot create results database {path}: directory {directory} does not exist"
                )
            # check_same_thread is off because Database guards the connection with a lock.
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open results database {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        conn.close()
        raise DatabaseError(f"cannot use results database {path}: {exc}") from exc
    return conn


def apply_journal_mode(conn: sqlite3.Connection, path: str, mode: str, timeout: float) -> str:
    """Switch the file to ``mode`` if it is not already in it; return the mode in effect.

    Changing the mode needs an exclusive lock, which concurrent openers contend for, hence
    the retry. The mode persists in the file for WAL, so usually nothing is changed.
    """

    def attempt() -> str:
        current = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).upper()
        if current == mode:
            return current
        return str(conn.execute(f"PRAGMA journal_mode={mode}").fetchone()[0]).upper()

    try:
        in_effect = retry_busy(attempt, timeout, f"setting journal mode of {path}")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot set journal mode of {path}: {exc}") from exc
    # WAL needs the synchronous fsync only at checkpoints to stay consistent; the other
    # modes need FULL for that.
    conn.execute("PRAGMA synchronous=%s" % ("NORMAL" if in_effect == "WAL" else "FULL"))
    return in_effect
