"""Concurrent writers on one LUTE results database: errors, lost rows and throughput.

Usage::

    python benchmarks/db_concurrency.py [--writers 8] [--results 500] [--dir DIR]
                                        [--modes WAL,DELETE]

Each writer is a separate process (a fresh interpreter, like a ``lute-exec`` job). One
*result* is the full life of an execution as the Executor records it, four write
transactions::

    start_execution (with a small parameter model) -> set_status RUNNING
    -> add_result (dict summary + JSON payload) -> set_status COMPLETED

For each journal mode the same total work (writers x results) is done twice on a fresh
file: once by a single writer, once by ``--writers`` writers at the same instant. The
table reports write errors and lost rows (both should be 0), throughput, and the latency
of single write transactions. ``--dir`` chooses the filesystem under test (default: the
system temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Sequence

from lute.io.db import Database

PROCESS_TIMEOUT = 1800.0


# ------------------------------------------------------------------ worker process


def _worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    deadline = time.monotonic() + 60
    while not os.path.exists(spec["go"]):  # common start line for all writers
        if time.monotonic() > deadline:
            raise SystemExit("start file never appeared")
        time.sleep(0.001)
    latencies: List[float] = []
    errors: List[str] = []
    tag = spec["tag"]

    def timed(operation: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return operation(*args, **kwargs)
        finally:
            latencies.append(time.perf_counter() - began)

    with Database(spec["db"], journal_mode=spec["mode"], timeout=120.0) as db:
        for index in range(spec["results"]):
            try:
                ids = timed(
                    db.start_execution,
                    managed_task="Bench",
                    task_name="Benchmark",
                    experiment="bench",
                    run=tag,
                    parameters={"index": index, "compound": {"a": 1.5, "b": [1, 2, 3]}},
                )
                timed(db.set_status, ids.execution_id, "RUNNING", pid=os.getpid())
                timed(
                    db.add_result,
                    ids.execution_id,
                    {"Rate": 0.05, "Total": index},
                    payload={"peaks": [1.0, 2.0]},
                    task_status="COMPLETED",
                )
                timed(db.set_status, ids.execution_id, "COMPLETED", exit_code=0)
            except Exception as exc:  # counted, and the writer carries on
                errors.append("%s: %s" % (type(exc).__name__, exc))
    return {"latencies": latencies, "errors": errors}


# ------------------------------------------------------------------ driver


def _run(directory: str, mode: str, writers: int, per_writer: int) -> Dict[str, Any]:
    db_path = os.path.join(directory, "bench-%s-%d.db" % (mode.lower(), writers))
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db_path + suffix):
            os.unlink(db_path + suffix)
    Database(db_path, journal_mode=mode).close()  # schema creation is not measured
    go = db_path + ".go"
    if os.path.exists(go):
        os.unlink(go)
    procs = []
    for tag in range(writers):
        spec = {"db": db_path, "go": go, "mode": mode, "tag": tag, "results": per_writer}
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--worker", json.dumps(spec)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    time.sleep(0.5 + 0.1 * writers)  # let every interpreter start and reach the start line
    began = time.perf_counter()
    open(go, "w").close()
    latencies: List[float] = []
    errors: List[str] = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            errors.append("writer exited %s: %s" % (proc.returncode, err.decode()[-500:]))
            continue
        report = json.loads(out.decode())
        latencies.extend(report["latencies"])
        errors.extend(report["errors"])
    elapsed = time.perf_counter() - began
    os.unlink(go)

    expected = writers * per_writer
    conn = sqlite3.connect(db_path)
    try:
        completed = conn.execute(
            "SELECT count(*) FROM executions WHERE status = 'COMPLETED'"
        ).fetchone()[0]
        result_rows = conn.execute("SELECT count(*) FROM results").fetchone()[0]
    finally:
        conn.close()
    latencies.sort()
    return {
        "mode": mode,
        "writers": writers,
        "results": expected,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "lost": (expected - completed) + (expected - result_rows),
        "seconds": elapsed,
        "results_per_s": completed / elapsed,
        "tx_per_s": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1e3,
        "p99_ms": _percentile(latencies, 0.99) * 1e3,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1e3,
    }


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _filesystem(path: str) -> str:
    """Filesystem type holding ``path`` (Linux /proc/mounts), for the report header."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                mount_point, fs_type = fields[1], fields[2]
                if path.startswith(mount_point) and len(mount_point) > len(best):
                    best, kind = mount_point, fs_type
    except OSError:
        pass
    return kind


# (title, width, format of the value, key in the row)
_COLUMNS = (
    ("journal", 7, "<7s", "mode"),
    ("writers", 7, "7d", "writers"),
    ("results", 7, "7d", "results"),
    ("errors", 6, "6d", "errors"),
    ("lost", 5, "5d", "lost"),
    ("seconds", 8, "8.2f", "seconds"),
    ("results/s", 9, "9.1f", "results_per_s"),
    ("tx/s", 8, "8.1f", "tx_per_s"),
    ("p50 ms", 7, "7.2f", "p50_ms"),
    ("p99 ms", 7, "7.2f", "p99_ms"),
    ("max ms", 8, "8.1f", "max_ms"),
)


def _print_table(directory: str, modes: Sequence[str], writers: int, total: int) -> int:
    """Run every configuration, print its row; return errors + lost rows over all."""
    header = " ".join(
        title.ljust(width) if index == 0 else title.rjust(width)
        for index, (title, width, _, _) in enumerate(_COLUMNS)
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for mode in modes:
        for count in (1, writers):
            row = _run(directory, mode, count, total // count)
            failures += row["errors"] + row["lost"]
            print(" ".join(format(row[key], spec) for _, _, spec, key in _COLUMNS), flush=True)
            if row["first_error"]:
                print("        first error: %s" % row["first_error"])
    return failures


def main(argv: Sequence[str]) -> int:
    """Run the comparison and print one table; exit status 1 on any error or lost row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--results", type=int, default=500, help="results per writer")
    parser.add_argument("--dir", default=None, help="directory for the database files")
    parser.add_argument("--modes", default="WAL,DELETE", help="journal modes to compare")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0

    directory = os.path.abspath(args.dir or tempfile.mkdtemp(prefix="lute-db-bench-"))
    total = args.writers * args.results
    modes = [mode.strip().upper() for mode in args.modes.split(",") if mode.strip()]
    print(
        "python %s, SQLite %s, %d CPUs, %s filesystem at %s"
        % (
            platform.python_version(),
            sqlite3.sqlite_version,
            os.cpu_count() or 0,
            _filesystem(directory),
            directory,
        )
    )
    print("one result = 4 write transactions; every row does %d results in total\n" % total)
    try:
        failures = _print_table(directory, modes, args.writers, total)
    finally:
        if args.dir is None:  # our own temporary directory
            shutil.rmtree(directory, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
