"""The writer side of :class:`lute.io.db.Database`: what a run produces. Private.

:class:`OutputWriterMixin` records a Task's results (:meth:`~OutputWriterMixin.add_result`,
or the bytes of one the Executor could not decode), its plain messages in batches while
the run goes on (:meth:`~OutputWriterMixin.add_messages`), and non-fatal warnings of the
run (:meth:`~OutputWriterMixin.add_warning`). Each call checks its arguments first, then
writes in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import math
import sqlite3
import time
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from lute.io.db._arguments import StatusLike, count, execution_key, optional_int, optional_text
from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._progress import PROGRESS_LEVEL, progress_text
from lute.io.db._values import (
    clean_text,
    decode_json,
    dump_json,
    encode_payload,
    format_summary,
    normalise_status,
    utc_from_epoch,
    utc_now,
)

__all__ = ["OutputWriterMixin"]

_INSERT_MESSAGE = (
    "INSERT INTO messages (execution_id, time, rank, text, level) VALUES (?, ?, ?, ?, ?)"
)
_COUNT_MESSAGES = (
    "UPDATE executions SET messages_received = messages_received + ?,"
    " messages_dropped = messages_dropped + ?, heartbeat = ? WHERE id = ?"
)


class _Stamper:
    """POSIX seconds -> the text :func:`utc_from_epoch` makes, for many close times.

    Messages of a batch share their second mostly, so its ``YYYY-MM-DDTHH:MM:SS`` is
    formatted once; the microseconds are rounded as ``datetime.fromtimestamp`` rounds
    them (half to even), so both give the same text.
    """

    def __init__(self) -> None:
        self.second = math.nan
        self.prefix = ""

    def __call__(self, seconds: float) -> str:
        fraction, second = math.modf(seconds)
        micros = round(fraction * 1e6)
        if micros >= 1000000:
            second, micros = second + 1.0, micros - 1000000
        elif micros < 0:
            second, micros = second - 1.0, micros + 1000000
        if second != self.second:
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self.second = second
        return "%s.%06d+00:00" % (self.prefix, micros)


def _message_rows(
    execution_id: int, messages: Iterable[Sequence[Any]]
) -> List[Tuple[int, str, Optional[int], str, Optional[str]]]:
    """The rows of a batch of messages, each checked (a bad one is named by index).

    Tens of thousands per second go through here: the common case (a tuple of a float,
    an int or None, and ASCII text) is tested by exact type first.
    """
    rows: List[Tuple[int, str, Optional[int], str, Optional[str]]] = []
    append = rows.append
    stamp = _Stamper()
    finite = math.isfinite
    for index, message in enumerate(messages):
        size = len(message) if type(message) is tuple or isinstance(message, list) else 0
        if size == 3:
            when, rank, text = message
            level = None
        elif size == 4:
            when, rank, text, level = message
            if level is not None and not isinstance(level, str):
                raise DatabaseError(
                    f"add_messages: message {index}: level must be a string, got {level!r}"
                )
        else:
            what = f"add_messages: message {index}"
            raise DatabaseError(
                f"{what} must be a (time, rank, text) or (time, rank, text, level) tuple, "
                f"got {message!r}"
            )
        if type(text) is not str and not isinstance(text, str):
            raise DatabaseError(
                f"add_messages: message {index}: text must be a string, got {text!r}"
            )
        if rank is not None and type(rank) is not int:  # bool, or not an int at all
            rank = optional_int(rank, f"add_messages: message {index}: rank")
        if type(when) is float and finite(when):
            moment = stamp(when)
        else:  # ints, numpy floats, ... or not a time at all
            moment = utc_from_epoch(when, f"add_messages: message {index}")
        # ASCII text cannot hold the lone surrogates SQLite refuses; checking is cheap.
        append((execution_id, moment, rank, text if text.isascii() else clean_text(text), level))
    return rows


class OutputWriterMixin(DatabaseCore):
    """The methods that write what a run produced; see :class:`lute.io.db.Database`."""

    def add_result(
        self,
        execution_id: int,
        summary: Any,
        payload: Any = None,
        task_status: Optional[StatusLike] = None,
    ) -> List[int]:
        """Record a Task's result: one row per summary item, sharing one payload.

        The summary is normalised by :func:`format_summary`. The payload is stored as JSON
        when ``json`` can serialise it, else as its ``repr``, with its type name. Items
        continue the execution's positions when called more than once.

        Args:
            execution_id: The execution.
            summary: ``TaskResult.summary`` with plots already rendered (:class:`PlotsRef`).
            payload: ``TaskResult.payload``.
            task_status: ``TaskResult.task_status``.

        Returns:
            Row ids of the stored items, in order.

        Raises:
            DatabaseError: Unknown execution or status.
        """
        items = format_summary(summary)
        payload_text, payload_type, encoding = encode_payload(payload)
        status = None if task_status is None else normalise_status(task_status, "add_result")
        columns = {
            "task_status": status,
            "payload": payload_text,
            "payload_type": payload_type,
            "payload_encoding": encoding,
        }
        return self._write(
            f"add a result to execution {execution_id!r}",
            lambda conn: self._insert_result(conn, execution_id, columns, items),
        )

    def add_undecodable_result(self, execution_id: int, raw: bytes, error: str) -> int:
        """Keep a result the Executor received but could not decode (e.g. unpickle).

        The bytes are stored as they arrived (``task_results.raw``, a BLOB) with the
        error, as one result item of kind ``undecodable`` whose summary names the size
        and the error. :meth:`results` shows it (``error``, ``raw_size``);
        :meth:`raw_result` returns the bytes.

        Args:
            execution_id: The execution.
            raw: What was received (``bytes``, ``bytearray`` or ``memoryview``).
            error: Why it could not be decoded, e.g. ``"ModuleNotFoundError: No module
                named 'numpy'"``.

        Returns:
            The row id of the result item.

        Raises:
            DatabaseError: Unknown execution, or ``raw`` is not bytes.
        """
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise DatabaseError(
                f"add_undecodable_result: raw must be bytes, got {type(raw).__name__}"
            )
        data = bytes(raw)
        text = optional_text(error, "error") or "could not be decoded"
        columns = {"raw": sqlite3.Binary(data), "error": text}
        items = [("undecodable", f"undecodable result ({len(data)} bytes): {text}")]
        ids = self._write(
            f"add an undecodable result to execution {execution_id!r}",
            lambda conn: self._insert_result(conn, execution_id, columns, items),
        )
        return ids[0]

    def _insert_result(
        self,
        conn: sqlite3.Connection,
        execution_id: int,
        columns: Any,
        items: Sequence[Tuple[str, str]],
    ) -> List[int]:
        """One ``task_results`` row with ``columns``, then one ``results`` row per item."""
        self._require_execution(conn, execution_id)
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        cursor = conn.execute(
            f"INSERT INTO task_results (execution_id, created, {names}) VALUES (?, ?, {marks})",
            (execution_id, utc_now(), *columns.values()),
        )
        task_result_id = cursor.lastrowid
        first = conn.execute(
            "SELECT coalesce(max(position) + 1, 0) FROM results WHERE execution_id = ?",
            (execution_id,),
        ).fetchone()[0]
        ids = []
        for offset, (kind, text) in enumerate(items):
            cursor = conn.execute(
                "INSERT INTO results (task_result_id, execution_id, position, kind, summary)"
                " VALUES (?, ?, ?, ?, ?)",
                (task_result_id, execution_id, first + offset, kind, text),
            )
            ids.append(int(cursor.lastrowid))  # type: ignore[arg-type]
        return ids

    def add_messages(
        self,
        execution_id: int,
        messages: Sequence[Sequence[Any]],
        *,
        dropped: int = 0,
    ) -> None:
        """Append a batch of an execution's plain messages, in one transaction.

        Meant to be called many times while the run goes on (batches of up to thousands
        of messages): one UPDATE and one multi-row INSERT, nothing read back. The
        execution's ``messages_received`` grows by ``len(messages) + dropped`` and
        ``messages_dropped`` by ``dropped``, and its heartbeat is refreshed.

        Args:
            execution_id: The execution.
            messages: ``(POSIX time, MPI rank or None, text)`` tuples, or
                ``(time, rank, text, level)`` for records a Task logged (``"INFO"``,
                ``"WARNING"``...).
            dropped: How many further messages the Executor received but does not store
                (a cap on stored messages applied); they are only counted.

        Raises:
            DatabaseError: Unknown execution or a malformed message (named by index).
        """
        key = execution_key(execution_id)
        extra = count(dropped, "add_messages: dropped")
        rows = _message_rows(key, messages)
        if not rows and not extra:
            return

        def body(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(_COUNT_MESSAGES, (len(rows) + extra, extra, utc_now(), key))
            if cursor.rowcount == 0:
                raise self._no_execution(key)
            conn.executemany(_INSERT_MESSAGE, rows)

        self._write(f"add messages to execution {key}", body)

    def set_progress(
        self,
        execution_id: int,
        done: float,
        total: Optional[float] = None,
        *,
        when: Optional[float] = None,
        rank: Optional[int] = None,
        replaces: Optional[int] = None,
    ) -> int:
        """Record how far an execution's Task has got, replacing the progress stored before.

        The execution keeps one message row of level ``PROGRESS`` (text such as
        ``42% (420/1000)``): the new row is added, then the older one deleted, so its
        id is above every id before it and a follower polling ``messages(after_id=...)``
        sees the change. Not counted in ``messages_received``. Read it back with
        :meth:`~lute.io.db.Database.last_progress` or ``MessageRecord.progress``.

        Args:
            execution_id: The execution.
            done: The fraction done (``total=None``, 0 to 1), else how many of
                ``total`` items are done.
            total: How many items there are, or ``None``.
            when: POSIX time of the report (default: now).
            rank: The MPI rank it came from, or ``None``.
            replaces: The id this method returned last time for the execution, when the
                caller knows it: only that row is deleted, found by its id (without it,
                every older progress row of the execution is looked for).

        Returns:
            The id of the new row.

        Raises:
            DatabaseError: Unknown execution, or not numbers.
        """
        key = execution_key(execution_id)
        try:
            text = progress_text(float(done), None if total is None else float(total))
        except (TypeError, ValueError) as bad:  # progress_text never divides by 0
            raise DatabaseError(f"set_progress: not a progress: {done!r} of {total!r}") from bad
        moment = utc_from_epoch(time.time() if when is None else when, "set_progress: when")
        row_rank = optional_int(rank, "set_progress: rank")
        previous = optional_int(replaces, "set_progress: replaces")

        def body(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(_COUNT_MESSAGES, (0, 0, utc_now(), key))
            if cursor.rowcount == 0:
                raise self._no_execution(key)
            new = conn.execute(
                _INSERT_MESSAGE, (key, moment, row_rank, text, PROGRESS_LEVEL)
            ).lastrowid
            if previous is None:
                conn.execute(
                    "DELETE FROM messages WHERE execution_id = ? AND level = ? AND id < ?",
                    (key, PROGRESS_LEVEL, new),
                )
            else:
                conn.execute(
                    "DELETE FROM messages WHERE id = ? AND execution_id = ? AND level = ?",
                    (previous, key, PROGRESS_LEVEL),
                )
            return int(new or 0)

        return self._write(f"record the progress of execution {key}", body)

    def add_warning(self, execution_id: int, text: str) -> None:
        """Record a non-fatal problem of the run (it does not change the status).

        For example an "after" tasklet that raised while the Task completed, or a
        message that could not be decoded. ``ExecutionRecord.warnings`` lists them,
        oldest first.

        Raises:
            DatabaseError: Unknown execution, or ``text`` is not a non-empty string.
        """
        key = execution_key(execution_id)
        warning = optional_text(text, "add_warning: text")
        if not warning:
            raise DatabaseError(f"add_warning: text must be a non-empty string, got {text!r}")

        def body(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT warnings FROM executions WHERE id = ?", (key,)).fetchone()
            if row is None:
                raise self._no_execution(key)
            warnings = list(decode_json(row[0]) or ())
            warnings.append(warning)
            conn.execute(
                "UPDATE executions SET warnings = ? WHERE id = ?", (dump_json(warnings), key)
            )

        self._write(f"add a warning to execution {key}", body)
