"""Executions whose Executor is gone: found on read, recorded on write. Private to ``lute.io.db``.

Readers (:mod:`lute.io.db._reader`) report such an execution as LOST without writing
(:func:`verdict`); ``start_execution``, ``claim_queued`` and ``mark_lost`` find them
(:func:`find_lost`, a read) and record them in their write transaction
(:func:`record_lost`), so the file catches up whenever a run starts.
:mod:`lute.io.db._supervision` decides who is gone.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Dict, List, Optional, Tuple

from lute.io.db._records import Verdict, parse_time
from lute.io.db._supervision import lost_reason, machine, probe_process
from lute.io.db._values import SUPERVISED_STATUSES, utc_now

__all__ = ["Lost", "find_lost", "record_lost", "verdict"]


def verdict(now: Optional[float] = None) -> Verdict:
    """A :data:`~lute.io.db._records.Verdict` for this process at ``now`` (default: now)."""
    here = machine()
    moment = time.time() if now is None else now
    probed: Dict[int, Optional[str]] = {}

    def probe(pid: int) -> Optional[str]:
        # One look per process and verdict: a verdict is one instant.
        if pid not in probed:
            probed[pid] = probe_process(pid)
        return probed[pid]

    def judge(
        status: str, host: Optional[str], pid: Optional[int], key: Optional[str], beat: Any
    ) -> Optional[str]:
        if pid is None or status not in SUPERVISED_STATUSES:
            return None  # the common case, decided without parsing anything
        heartbeat = parse_time(beat)
        return lost_reason(
            status,
            host,
            pid,
            key,
            None if heartbeat is None else heartbeat.timestamp(),
            here=here,
            probe=probe,
            now=moment,
        )

    return judge


# (id, stored status, heartbeat as read, why it is LOST)
Lost = Tuple[int, str, Optional[str], str]


def find_lost(conn: sqlite3.Connection) -> List[Lost]:
    """The supervised executions whose Executor is gone, and why.

    A read: writers call it before their write transaction, so that looking at the
    processes (a read of ``/proc`` each) does not hold the write lock. Only PENDING,
    RUNNING and STOPPED rows with a recorded supervisor are looked at, through the
    status index: as many rows as there are runs going on.
    """
    judge = verdict()
    rows = conn.execute(
        "SELECT id, status, supervisor_host, supervisor_pid, supervisor_key, heartbeat"
        " FROM executions WHERE status IN ('PENDING', 'RUNNING', 'STOPPED')"
        " AND supervisor_pid IS NOT NULL"
    )
    found = []
    for execution_id, status, host, pid, key, beat in rows:
        reason = judge(status, host, pid, key, beat)
        if reason is not None:
            found.append((int(execution_id), str(status), beat, reason))
    return found


def record_lost(conn: sqlite3.Connection, found: List[Lost]) -> List[int]:
    """Record what :func:`find_lost` found as LOST, in the caller's write transaction;
    the ids of the executions recorded.

    An execution whose status or heartbeat changed since it was read (its Executor was
    alive after all) is left alone. ``ended`` becomes the last heartbeat, the last moment
    the Executor was known to be alive; ``error`` says why, after any error it had.
    """
    now = utc_now()
    recorded = []
    for execution_id, status, beat, reason in found:
        cursor = conn.execute(
            "UPDATE executions SET status = 'LOST', ended = coalesce(ended, heartbeat, ?),"
            " error = CASE WHEN coalesce(error, '') = '' THEN ? ELSE error || char(10) || ? END"
            " WHERE id = ? AND status = ? AND heartbeat IS ?",
            (now, reason, reason, execution_id, status, beat),
        )
        if cursor.rowcount:
            recorded.append(execution_id)
    return recorded
