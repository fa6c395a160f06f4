"""Messages, heartbeats and the LOST sweep of a running execution, measured on real files.

Usage::

    python benchmarks/db_messages.py [--messages 200000] [--dir DIR] [--modes WAL,DELETE]

Three tables, each on a fresh file per journal mode (``--dir`` chooses the filesystem):

1. **Messages**: one writer stores ``--messages`` small messages (``(time, rank, text)``,
   about 30 characters) with ``Database.add_messages`` in batches of 100, 1,000 and
   10,000: messages per second and milliseconds per batch (one transaction each). The
   Executor must keep 100,000 messages/s end to end, so this must be well above.
2. **Heartbeat**: milliseconds per ``Database.heartbeat`` (one small UPDATE).
3. **Sweep**: ``start_execution``, which records executions whose Executor is gone as
   LOST in its own transaction, with 0, 100 and 1,000 other executions going on (their
   Executors alive on this host, or on another host with fresh heartbeats), against
   the same call with nothing going on: the price of the sweep.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Sequence

from lute.io.db import Database, Supervisor

BATCHES = (100, 1000, 10000)
ACTIVE = (0, 100, 1000)


def _fresh(directory: str, name: str, mode: str) -> Database:
    path = os.path.join(directory, "%s-%s.db" % (name, mode.lower()))
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    return Database(path, journal_mode=mode)


def _start(db: Database, **kwargs: Any) -> int:
    return db.start_execution(
        managed_task="Bench",
        task_name="Benchmark",
        experiment="bench",
        run=1,
        parameters={"a": 1, "b": {"c": [1, 2]}},
        **kwargs,
    ).execution_id


def messages_rows(directory: str, mode: str, total: int) -> List[Dict[str, Any]]:
    """Messages per second of one writer, per batch size."""
    rows = []
    for size in BATCHES:
        with _fresh(directory, "messages-%d" % size, mode) as db:
            execution_id = _start(db)
            now = time.time()
            batch = [(now + i * 1e-5, i % 4, "message %06d of the run" % i) for i in range(size)]
            count = max(1, total // size)
            began = time.perf_counter()
            for _ in range(count):
                db.add_messages(execution_id, batch)
            seconds = time.perf_counter() - began
            stored = db.execution(execution_id).messages_received
        rows.append(
            {
                "mode": mode,
                "batch": size,
                "messages": stored,
                "seconds": seconds,
                "per_s": stored / seconds,
                "ms_batch": seconds / count * 1e3,
            }
        )
    return rows


def _timed(operation: Callable[[], Any], repeat: int) -> List[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        operation()
        times.append((time.perf_counter() - began) * 1e3)
    return times


def heartbeat_row(directory: str, mode: str) -> Dict[str, Any]:
    """Milliseconds per heartbeat."""
    with _fresh(directory, "heartbeat", mode) as db:
        execution_id = _start(db)
        times = _timed(lambda: db.heartbeat(execution_id), 500)
    return {"mode": mode, "median": statistics.median(times), "p99": _p99(times)}


def sweep_rows(directory: str, mode: str) -> List[Dict[str, Any]]:
    """start_execution with other executions going on (each looked at by the sweep)."""
    rows = []
    for where in ("this host", "other host"):
        for active in ACTIVE:
            with _fresh(directory, "sweep-%d" % active, mode) as db:
                other = Supervisor("node9", 4242, None, "another-boot/pid:[1]/1")
                for _ in range(active):
                    execution_id = _start(db, supervisor=None if where == "this host" else other)
                    db.set_status(execution_id, "RUNNING")
                times = _timed(lambda: _start(db), 200)
                going_on = len(db.executions(status="RUNNING", limit=None))
            rows.append(
                {
                    "mode": mode,
                    "where": where,
                    "active": going_on,
                    "median": statistics.median(times),
                    "p99": _p99(times),
                }
            )
    return rows


def _p99(times: List[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main(argv: Sequence[str]) -> int:
    """Run the three measurements and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200000, help="messages per batch size")
    parser.add_argument("--dir", default=None, help="directory for the database files")
    parser.add_argument("--modes", default="WAL,DELETE", help="journal modes to compare")
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.dir or tempfile.mkdtemp(prefix="lute-db-messages-"))
    modes = [mode.strip().upper() for mode in args.modes.split(",") if mode.strip()]
    print(
        "python %s, SQLite %s, %d CPUs, files in %s\n"
        % (platform.python_version(), sqlite3.sqlite_version, os.cpu_count() or 0, directory)
    )
    try:
        print("%-7s %6s %9s %8s %11s %9s" % ("journal", "batch", "messages", "seconds",
                                             "messages/s", "ms/batch"))  # fmt: skip
        print("-" * 55)
        for mode in modes:
            for row in messages_rows(directory, mode, args.messages):
                print("%(mode)-7s %(batch)6d %(messages)9d %(seconds)8.2f %(per_s)11.0f "
                      "%(ms_batch)9.2f" % row, flush=True)  # fmt: skip
        print("\n%-7s %14s %11s" % ("journal", "heartbeat ms", "p99 ms"))
        print("-" * 34)
        for mode in modes:
            print("%(mode)-7s %(median)14.3f %(p99)11.3f" % heartbeat_row(directory, mode))
        print("\n%-7s %-10s %7s %22s %8s" % ("journal", "Executors", "running",
                                             "start_execution ms", "p99 ms"))  # fmt: skip
        print("-" * 58)
        for mode in modes:
            for row in sweep_rows(directory, mode):
                print("%(mode)-7s %(where)-10s %(active)7d %(median)22.3f %(p99)8.3f" % row,
                      flush=True)  # fmt: skip
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
