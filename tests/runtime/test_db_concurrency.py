"""Many real processes writing one results database at the same instant.

The worker side of these tests is this file run as a script, so every writer is a fresh
interpreter with its own SQLite connection, like concurrent ``lute-exec`` processes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from typing import Any, Dict, List

import pytest

from lute.io.db import SCHEMA_VERSION, Database

WORKERS = 8
PROCESS_TIMEOUT = 180.0


# ------------------------------------------------------------------ worker side


def _wait_for(path: str, timeout: float = 60.0) -> None:
    """Start line: every worker polls for the same file so they all begin together."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("start file %s never appeared" % path)
        time.sleep(0.002)


def _write_worker(spec: Dict[str, Any]) -> None:
    _wait_for(spec["go"])
    tag = spec["tag"]
    with Database(spec["db"], journal_mode=spec["journal_mode"], timeout=120.0) as db:
        for number in range(spec["executions"]):
            ids = db.start_execution(
                managed_task="Writer",
                task_name="Concurrent",
                experiment="exp",
                run=tag,
                parameters={"tag": tag, "number": number, "nested": {"x": [tag, number]}},
            )
            db.set_status(ids.execution_id, "RUNNING", pid=os.getpid())
            for index in range(spec["results"]):
                db.add_result(ids.execution_id, {"worker": tag, "i": index}, payload=[tag, index])
            db.add_messages(ids.execution_id, [(time.time(), tag, "m%d" % k) for k in range(3)])
            db.set_status(ids.execution_id, "COMPLETED", exit_code=0)


def _create_worker(spec: Dict[str, Any]) -> None:
    _wait_for(spec["go"])
    with Database(spec["db"], journal_mode=spec["journal_mode"], timeout=120.0) as db:
        db.start_execution(
            managed_task="Creator", task_name="Fresh", experiment=None, run=None, parameters={}
        )


# ------------------------------------------------------------------ test side


def _run_workers(kind: str, specs: List[Dict[str, Any]], go: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, kind, json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for spec in specs
    ]
    failures = []
    try:
        with open(go, "w"):
            pass
        for proc in procs:
            _, err = proc.communicate(timeout=PROCESS_TIMEOUT)
            if proc.returncode != 0:
                failures.append((proc.returncode, err.decode(errors="replace")))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert failures == []


def _counts(path: str) -> Dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "integrity": one("PRAGMA integrity_check"),
            "version": one("PRAGMA user_version"),
            "executions": one("SELECT count(*) FROM executions"),
            "completed": one("SELECT count(*) FROM executions WHERE status = 'COMPLETED'"),
            "parameters": one("SELECT count(*) FROM parameters"),
            "results": one("SELECT count(*) FROM results"),
            "task_results": one("SELECT count(*) FROM task_results"),
            "messages": one("SELECT count(*) FROM messages"),
            "positions_ok": one(
                "SELECT count(*) FROM (SELECT execution_id, min(position) AS lo,"
                " max(position) AS hi, count(*) AS n FROM results GROUP BY execution_id)"
                " WHERE lo = 0 AND hi = n - 1"
            ),
            "per_worker": dict(
                conn.execute("SELECT run_number, count(*) FROM executions GROUP BY run_number")
            ),
        }
    finally:
        conn.close()


@pytest.mark.parametrize("journal_mode", ["WAL", "DELETE"])
def test_eight_processes_write_concurrently_without_losing_rows(
    tmp_path: Any, journal_mode: str
) -> None:
    # WAL is the default and gets the full 8 x 200 result writes; DELETE (the NFS
    # fallback) locks the whole file per commit and gets a smaller load.
    executions, results = (10, 20) if journal_mode == "WAL" else (4, 10)
    db_path = str(tmp_path / "lute.db")
    Database(db_path, journal_mode=journal_mode).close()
    go = str(tmp_path / "go")
    specs = [
        {
            "db": db_path,
            "go": go,
            "tag": tag,
            "executions": executions,
            "results": results,
            "journal_mode": journal_mode,
        }
        for tag in range(WORKERS)
    ]
    _run_workers("write", specs, go)

    counts = _counts(db_path)
    total_executions = WORKERS * executions
    assert counts["integrity"] == "ok"
    assert counts["executions"] == total_executions
    assert counts["completed"] == total_executions
    assert counts["parameters"] == total_executions
    assert counts["results"] == total_executions * results
    assert counts["task_results"] == total_executions * results
    assert counts["messages"] == total_executions * 3
    assert counts["positions_ok"] == total_executions
    assert counts["per_worker"] == {tag: executions for tag in range(WORKERS)}


@pytest.mark.parametrize("start", ["missing file", "empty WAL file"])
def test_fresh_file_schema_created_by_eight_processes_at_once(tmp_path: Any, start: str) -> None:
    # A missing file makes the openers contend for the journal-mode switch first, which
    # staggers them; an empty file already in WAL mode sends all eight straight into the
    # schema check, the tighter race.
    for attempt in range(2):
        db_path = str(tmp_path / ("fresh%d.db" % attempt))
        if start == "empty WAL file":
            conn = sqlite3.connect(db_path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
        go = str(tmp_path / ("go%d" % attempt))
        specs = [{"db": db_path, "go": go, "journal_mode": "WAL"} for _ in range(WORKERS)]
        _run_workers("create", specs, go)
        counts = _counts(db_path)
        assert counts["integrity"] == "ok"
        assert counts["version"] == SCHEMA_VERSION
        assert counts["executions"] == WORKERS
        with Database(db_path, readonly=True) as db:
            assert db.journal_mode == "WAL"
            assert len(db.executions(task_name="Fresh", limit=None)) == WORKERS


if __name__ == "__main__":
    _kind, _spec = sys.argv[1], json.loads(sys.argv[2])
    {"write": _write_worker, "create": _create_worker}[_kind](_spec)
