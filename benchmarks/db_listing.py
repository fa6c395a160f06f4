"""Listing executions (``lute-exec db list``) on a large LUTE results database.

Usage::

    python benchmarks/db_listing.py [--executions 100000] [--dir DIR] [--keep]
                                    [--repeat 7] [--plans]

Builds (once; ``--keep`` leaves it in ``--dir`` for the next run) a database of
``--executions`` executions with what real ones have: a parameter model of 12 leaves,
one to three result items, 10 messages, the statuses a busy experiment shows (mostly
COMPLETED, some FAILED/CANCELLED/TIMEDOUT, some QUEUED, some RUNNING of which a part
have an Executor that is gone), spread over 100 experiments, 10 Tasks and a year.
Then times ``Database.executions(limit=20, ...)`` with each filter ``db list`` offers,
plus ``execution(id)`` and a follower's ``messages(id, after_id=...)``, on a warm
read-only connection: the best and the median of ``--repeat`` runs. ``--plans`` prints
SQLite's query plan of each listing. Target: every listing within 100 ms.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from lute.io.db import Database, default_db_path, this_process
from lute.io.db._records import EXECUTION_SELECT

TASKS = [("Tester", "Test"), ("PeakFinder", "FindPeaks"), ("Indexer", "IndexCrystals")] + [
    ("Manager%d" % i, "Task%d" % i) for i in range(7)
]
UTC = datetime.timezone.utc
YEAR = 365 * 24 * 3600.0
NOW = time.time()
START = NOW - YEAR
TARGET_MS = 100.0


def _stamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")


def _status(rng: random.Random) -> str:
    draw = rng.random()
    for limit, status in (
        (0.90, "COMPLETED"),
        (0.96, "FAILED"),
        (0.97, "CANCELLED"),
        (0.98, "TIMEDOUT"),
        (0.985, "QUEUED"),
        (0.99, "LOST"),
    ):
        if draw < limit:
            return status
    return "RUNNING"


def build(path: str, count: int, seed: int = 12) -> float:
    """Fill a fresh database at ``path``; seconds it took."""
    began = time.perf_counter()
    Database(path).close()  # the schema, as lute-runtime creates it
    rng = random.Random(seed)
    me = this_process()
    gone_key = "another-boot/pid:[1]/1"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # building only; the file is thrown away
    conn.execute("BEGIN")
    executions, parameters, values, task_results, results, messages = [], [], [], [], [], []
    result_id = 0
    for number in range(1, count + 1):
        created = START + YEAR * number / count
        managed, task = TASKS[rng.randrange(len(TASKS))]
        experiment = "xpp%05d" % rng.randrange(100)
        run = rng.randrange(1, 1000)
        status = _status(rng)
        started = None if status == "QUEUED" else created + 1
        ended = None if status in ("QUEUED", "RUNNING") else created + 1 + rng.random() * 600
        supervisor: Tuple[Any, ...] = (me.host, me.pid, me.started, me.key, _stamp(NOW))
        if status == "RUNNING" and rng.random() < 0.5:  # an Executor that is gone
            supervisor = ("node9", 4242, None, gone_key, _stamp(NOW - 3600))
        elif status == "QUEUED":
            supervisor = (None, None, None, None, None)
        executions.append(
            (number, managed, task, experiment, "%04d" % run, run, status, _stamp(created),
             None if started is None else _stamp(started),
             None if ended is None else _stamp(ended),
             None if ended is None else (0 if status == "COMPLETED" else 1),
             me.host, "user%d" % rng.randrange(20), 10000 + number, "/w/%s" % experiment,
             json.dumps({"interpreter": "/usr/bin/python3", "kind": "conda"}),
             json.dumps({"lute": "0.1.0", "python": "3.11.7"}),
             "Traceback ...\nValueError: bad" if status == "FAILED" else None,
             "/w/%s/config.yaml" % experiment, *supervisor, 10, 0,
             "/w/logs/%s_%d.log" % (managed, number))
        )  # fmt: skip
        model = {
            "lute_config": {"experiment": experiment, "run": "%04d" % run, "work_dir": "/w"},
            "float_var": rng.random(),
            "int_var": rng.randrange(100),
            "str_var": "setting %d" % rng.randrange(10),
            "list_var": [1, 2, 3],
            "compound_var": {"int_var": 10, "dict_var": {"a": "b"}, "x": 1.5, "y": None},
            "flag": True,
            "path": "/w/out/%d.h5" % number,
        }
        parameters.append((number, number, json.dumps(model, separators=(",", ":"))))
        for leaf, value in (
            ("lute_config.experiment", experiment), ("lute_config.run", "%04d" % run),
            ("lute_config.work_dir", "/w"), ("float_var", model["float_var"]),
            ("int_var", model["int_var"]), ("str_var", model["str_var"]),
            ("list_var", [1, 2, 3]), ("compound_var.int_var", 10),
            ("compound_var.dict_var.a", "b"), ("compound_var.x", 1.5),
            ("compound_var.y", None), ("flag", True),
        ):  # fmt: skip
            values.append((number, leaf, json.dumps(value)))
        if status not in ("QUEUED",):
            task_results.append(
                (number, number, status, json.dumps({"peaks": [1.5, 2.5]}), "dict", "json",
                 _stamp(created + 2))
            )  # fmt: skip
            for position in range(rng.randrange(1, 4)):
                result_id += 1
                results.append(
                    (result_id, number, number, position, "dict",
                     "Rate: %.3f;Total: %d" % (rng.random(), position))
                )  # fmt: skip
        for index in range(10):
            messages.append((number, _stamp(created + index), index % 2, "message %d" % index))
        if number % 5000 == 0 or number == count:
            _flush(conn, executions, parameters, values, task_results, results, messages)
    conn.execute("COMMIT")
    # No ANALYZE: lute-runtime never runs it, so the planner works without statistics.
    conn.close()
    return time.perf_counter() - began


def _flush(conn: sqlite3.Connection, *batches: List[Tuple[Any, ...]]) -> None:
    executions, parameters, values, task_results, results, messages = batches
    conn.executemany(
        "INSERT INTO executions (id, managed_task, task_name, experiment, run, run_number,"
        " status, created, started, ended, exit_code, host, user, pid, work_dir, environment,"
        " versions, error, config_path, supervisor_host, supervisor_pid, supervisor_start,"
        " supervisor_key, heartbeat, messages_received, messages_dropped, log_path)"
        " VALUES (%s)" % ", ".join("?" * 27),
        executions,
    )
    conn.executemany(
        "INSERT INTO parameters (id, execution_id, model) VALUES (?, ?, ?)", parameters
    )
    conn.executemany(
        "INSERT INTO parameter_values (parameters_id, path, value) VALUES (?, ?, ?)", values
    )
    conn.executemany(
        "INSERT INTO task_results (id, execution_id, task_status, payload, payload_type,"
        " payload_encoding, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        task_results,
    )
    conn.executemany(
        "INSERT INTO results (id, task_result_id, execution_id, position, kind, summary)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        results,
    )
    conn.executemany(
        "INSERT INTO messages (execution_id, time, rank, text) VALUES (?, ?, ?, ?)", messages
    )
    for batch in batches:
        batch.clear()


Case = Tuple[str, Callable[[Database], Any], Optional[Dict[str, Any]]]


def cases(count: int) -> List[Case]:
    """(label, call, executions() keywords, None for other reads) of every timed read."""
    week = NOW - 7 * 24 * 3600
    half_year = NOW - YEAR / 2
    listings: List[Tuple[str, Dict[str, Any]]] = [
        ("newest 20", {}),
        ("experiment", {"experiment": "xpp00042"}),
        ("experiment + run", {"experiment": "xpp00042", "run": 512}),
        ("run only", {"run": "0512"}),
        ("task name", {"task_name": "FindPeaks"}),
        ("managed task", {"managed_task": "Indexer"}),
        ("status FAILED", {"status": "FAILED"}),
        ("status COMPLETED,FAILED", {"status": ["COMPLETED", "FAILED"]}),
        ("status RUNNING (judged)", {"status": "RUNNING"}),
        ("status LOST (judged)", {"status": "LOST"}),
        ("status QUEUED", {"status": "QUEUED"}),
        ("created in the last week", {"created_after": week}),
        ("created before half a year", {"created_before": half_year}),
        ("started in the last week", {"started_after": week}),
        ("experiment+FAILED+6 months", {"experiment": "xpp00042", "status": "FAILED",
                                        "created_after": half_year}),
        ("task+experiment+run", {"task_name": "FindPeaks", "experiment": "xpp00042",
                                 "run": 512}),
        ("page 50 (offset 1000)", {"offset": 1000}),
        ("experiment, page 5", {"experiment": "xpp00042", "offset": 100}),
    ]  # fmt: skip
    out: List[Case] = []
    for label, keywords in listings:
        out.append(
            (label, lambda db, k=keywords: db.executions(limit=20, **k), keywords)  # type: ignore[misc]
        )
    middle = count // 2
    out.append(("execution(id)", lambda db: db.execution(middle), None))
    out.append(("messages(id, after_id)", lambda db: db.messages(middle, after_id=0), None))
    out.append(("results(id)", lambda db: db.results(middle), None))
    return out


def plan(db_path: str, keywords: Dict[str, Any]) -> str:
    """SQLite's plan for the listing's query (the part :mod:`lute.io.db._query` builds)."""
    from lute.io.db._query import execution_filter, status_names
    from lute.io.db._values import SUPERVISED_STATUSES

    keywords = dict(keywords)
    status = keywords.pop("status", None)
    keywords.pop("offset", None)
    where = execution_filter(**keywords)
    if status is not None:
        wanted = set(status_names(status, "plan"))
        stored = wanted | (SUPERVISED_STATUSES if "LOST" in wanted else set())
        where.add("status IN (%s)" % ", ".join("?" * len(stored)), *sorted(stored))
    query = "SELECT %s FROM executions%s ORDER BY id DESC LIMIT 20" % (
        EXECUTION_SELECT,
        where.sql(),
    )
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + query, where.values).fetchall()
    finally:
        conn.close()
    return "; ".join(str(row[-1]) for row in rows)


def main(argv: Sequence[str]) -> int:
    """Build (or reuse) the database, time every read, print one table; 1 if over target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100000)
    parser.add_argument("--dir", default=None, help="directory for the database file")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--plans", action="store_true", help="print each query plan")
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.dir or tempfile.mkdtemp(prefix="lute-db-listing-"))
    os.makedirs(directory, exist_ok=True)
    path = default_db_path(os.path.join(directory, "listing-%d" % args.executions))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        print("python %s, SQLite %s, %d CPUs" % (
            platform.python_version(), sqlite3.sqlite_version, os.cpu_count() or 0))  # fmt: skip
        if not os.path.exists(path):
            seconds = build(path, args.executions)
            print("built %d executions in %.1f s" % (args.executions, seconds))
        size = os.path.getsize(path) / 1e6
        print("database: %s, %.0f MB\n" % (path, size))
        print("%-28s %6s %9s %9s" % ("read", "rows", "best ms", "median ms"))
        print("-" * 55)
        worst = 0.0
        with Database(path, readonly=True) as db:
            for label, call, keywords in cases(args.executions):
                call(db)  # warm: the first read of a fresh connection pays for the cache
                times = []
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    found = call(db)
                    times.append((time.perf_counter() - began) * 1e3)
                rows = len(found) if isinstance(found, list) else 1
                median = statistics.median(times)
                worst = max(worst, median)
                print("%-28s %6d %9.2f %9.2f" % (label, rows, min(times), median), flush=True)
                if args.plans and keywords is not None:
                    print("    plan: " + plan(path, keywords))
        print("\nslowest median %.2f ms (target %.0f ms)" % (worst, TARGET_MS))
        return 0 if worst <= TARGET_MS else 1
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
