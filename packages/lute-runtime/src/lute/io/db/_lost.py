"""Executions whose Executor is gone: found on read, recorded on write. Private to ``lute.io.db``.

Readers (:mod:`lute.io.db._reader`) report such an execution as LOST without writing
(:func:`verdict`); a writer records it (:func:`mark_lost`) inside the transaction of
``start_execution``, ``claim_queued`` and ``mark_lost``, so the file catches up whenever
a run starts. :mod:`lute.io.db._supervision` decides who is gone.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Dict, List, Optional

from lute.io.db._records import Verdict, lost_error, parse_time
from lute.io.db._supervision import lost_reason, machine, probe_process
from lute.io.db._values import SUPERVISED_STATUSES, utc_now

__all__ = ["mark_lost", "verdict"]


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


def mark_lost(conn: sqlite3.Connection) -> List[int]:
    """Record every supervised execution whose Executor is gone as LOST; their ids.

    Runs inside the caller's write transaction. Only PENDING, RUNNING and STOPPED rows
    with a recorded supervisor are looked at (through the status index: as many rows as
    there are runs going on). ``ended`` becomes the last heartbeat, the last moment the
    Executor was known to be alive; ``error`` says why.
    """
    judge = verdict()
    rows = conn.execute(
        "SELECT id, status, supervisor_host, supervisor_pid, supervisor_key, heartbeat, error"
        " FROM executions WHERE status IN ('PENDING', 'RUNNING', 'STOPPED')"
        " AND supervisor_pid IS NOT NULL"
    ).fetchall()
    lost = []
    now = utc_now()
    for execution_id, status, host, pid, key, beat, error in rows:
        reason = judge(status, host, pid, key, beat)
        if reason is None:
            continue
        conn.execute(
            "UPDATE executions SET status = 'LOST', ended = coalesce(ended, heartbeat, ?),"
            " error = ? WHERE id = ? AND status = ?",
            (now, lost_error(error, reason), execution_id, status),
        )
        lost.append(int(execution_id))
    return lost
