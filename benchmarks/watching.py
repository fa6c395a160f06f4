"""Watching runs at scale: ``db list`` at 100,000 executions, the report index at 10,000
runs, and how soon ``follow`` shows a message; one table.

Usage::

    .venv/bin/python benchmarks/watching.py [--executions 100000] [--runs 10000]
                                            [--messages 20] [--dir DIR] [--keep]

Rows, each beside its baseline or target:

* ``lute-exec db list`` (the whole command, median of 7) on a database of
  ``--executions`` executions built by ``db_listing.build`` (parameters, results and
  messages like real runs), beside ``lute-exec --version`` (the command's own start-up)
  and the in-process query it makes; target 100 ms for the listing itself;
* one run's report (``LocalReporter.report``: its page, its record and the index) once
  the reports directory holds ``--runs`` runs, beside the same at 1,000 runs (where
  ``index.html`` reaches its full size): the cost per run must not grow with the
  experiment;
* ``follow``'s delay: a real Task sends a message with its send time every 0.2 s, a real
  ``lute-exec follow --json`` prints it; median and worst delay from send to print
  (target 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from db_listing import build  # benchmarks/ is the script's directory

from lute.io.db import Database, default_db_path

ROOT = Path(__file__).resolve().parent.parent
LUTE_EXEC = [sys.executable, "-m", "lute.execution.cli"]


def _median_ms(argv: Sequence[str], env: Dict[str, str], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(list(argv), env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def listing(directory: Path, count: int, keep: bool) -> List[Tuple[str, str, str]]:
    work = directory / "listing"
    work.mkdir(parents=True, exist_ok=True)
    db_path = default_db_path(str(work))
    if not (keep and os.path.exists(db_path)):
        if os.path.exists(db_path):
            os.unlink(db_path)
        build(db_path, count)
    env = dict(os.environ)
    command = _median_ms([*LUTE_EXEC, "db", "list", "-w", str(work)], env)
    filtered = _median_ms(
        [*LUTE_EXEC, "db", "list", "-w", str(work), "--status", "FAILED", "--experiment", "EXP007"],
        env,
    )
    start_up = _median_ms([*LUTE_EXEC, "--version"], env)
    with Database(db_path, readonly=True) as db:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            for record in db.executions(limit=20):
                db.results(record.id)  # the summary column
            times.append(time.perf_counter() - start)
    query = statistics.median(times) * 1000
    return [
        (
            "lute-exec db list, %d executions" % count,
            "%.0f ms" % command,
            "%.0f ms lute-exec --version; %.1f ms the query itself" % (start_up, query),
        ),
        (
            "  same, --status FAILED --experiment EXP007",
            "%.0f ms" % filtered,
            "target: listing within 100 ms of start-up",
        ),
    ]


def _report_cost(reports: Path, runs: int, sample: int = 20) -> float:
    from lute.io.elog import LocalReporter, ReportItem

    reporter = LocalReporter(str(reports.parent))
    items = [ReportItem.keyvalue("mean", "1.5"), ReportItem.text("done")]

    def execution(i: int) -> Dict[str, object]:
        return {
            "id": i,
            "managed_task": "Tester",
            "task_name": "Test",
            "experiment": "EXP%03d" % (i % 50),
            "run": str(i % 400),
            "status": "COMPLETED",
            "created": "2026-12-01T08:00:00+00:00",
            "duration_s": 1.0,
            "parameters": {"float_var": 0.01},
        }

    for i in range(1, runs + 1):
        reporter.report(execution=execution(i), items=items)
    times = []
    for i in range(runs + 1, runs + sample + 1):
        start = time.perf_counter()
        reporter.report(execution=execution(i), items=items)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def report_index(directory: Path, runs: int) -> List[Tuple[str, str, str]]:
    # index.html holds at most 400 runs (older ones move to pages written once): from
    # 1,000 runs on it is at its full size, and the cost per run must stay the same.
    small = _report_cost(directory / "reports-small" / "reports", 1000)
    large = _report_cost(directory / "reports-large" / "reports", runs)
    return [
        (
            "one run's report with %d runs in the index" % runs,
            "%.1f ms" % large,
            "%.1f ms with 1000 runs (%.2fx)" % (small, large / small),
        )
    ]


TICKER = """
import time

from lute.execution.ipc import Message
from lute.tasks.task import Task


class Ticker(Task):
    def _run(self):
        for _ in range(int(self._task_parameters.count)):
            self._report_to_executor(Message(contents="sent %r" % time.time()))
            time.sleep(0.2)
"""
TICKER_MODEL = """
from lute.io.models.base import TaskParameters


class TickerParameters(TaskParameters):
    count: int = 20
"""


def follow_delay(directory: Path, messages: int) -> List[Tuple[str, str, str]]:
    sys.path.insert(0, str(ROOT))
    from tests.conftest import install_task_package, write_config

    base = directory / "follow"
    if base.exists():
        shutil.rmtree(base)
    site = install_task_package(base / "site", "Ticker", TICKER, TICKER_MODEL)
    config = write_config(base, "Ticker:\n  count: %d\n" % messages)
    env = dict(os.environ, PYTHONPATH=str(site))
    run = subprocess.Popen(
        [*LUTE_EXEC, "run", "-c", str(config), "-t", "TickerRunner"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    work = base / "work"
    deadline = time.monotonic() + 60
    while not (work / "lute.db").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    follower = subprocess.Popen(
        [*LUTE_EXEC, "follow", "--last", "-w", str(work), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    delays = []
    assert follower.stdout is not None
    for line in follower.stdout:
        event = json.loads(line)
        if event.get("event") == "message" and event["text"].startswith("sent "):
            delays.append(time.time() - float(event["text"].split()[1]))
    follower.wait(timeout=60)
    run.wait(timeout=60)
    delays = delays[2:]  # the first ones were sent before follow started
    return [
        (
            "follow: send to print, %d messages" % len(delays),
            "%.0f ms median, %.0f ms worst"
            % (statistics.median(delays) * 1000, max(delays) * 1000),
            "target: 500 ms",
        )
    ]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--dir", help="where to build (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep and reuse what was built")
    args = parser.parse_args(argv)
    directory = Path(args.dir or tempfile.mkdtemp(prefix="lute-watching-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        rows = listing(directory, args.executions, args.keep)
        rows += report_index(directory, args.runs)
        rows += follow_delay(directory, args.messages)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(directory, ignore_errors=True)
    widths = [max(len(row[i]) for row in [*rows, ("case", "result", "beside")]) for i in range(3)]
    line = "| %-*s | %-*s | %-*s |"
    print(line % (widths[0], "case", widths[1], "result", widths[2], "beside"))
    print("|%s|%s|%s|" % tuple("-" * (w + 2) for w in widths))
    for row in rows:
        print(line % (widths[0], row[0], widths[1], row[1], widths[2], row[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
