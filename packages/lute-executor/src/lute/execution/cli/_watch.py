"""``lute-exec follow`` and ``lute-exec top``: watch runs from the database.

Both read only the results database, so they work from any node that sees the work
directory (a login node watching SLURM jobs, a second terminal), for MPI runs (each
message tagged with its rank) and for the array tasks of a submission. ``follow``
streams one execution's messages, status changes and progress until it ends and exits
with its exit code (each line stamped with the time stored for it); ``top`` lists the
running and recently ended executions with their progress, refreshed in place on a
terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Dict, List, Optional

from lute.execution.cli._common import error, print_json, print_table
from lute.execution.cli._db import progress_document
from lute.execution.cli._where import WhereError, add_database_options, database_path, local_time

__all__ = ["add_follow", "add_top", "follow", "top"]

#: Seconds between two reads of the database while following.
FOLLOW_INTERVAL = 0.1
_ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEDOUT", "LOST")
_TOP_COLUMNS = (
    "ID",
    "MANAGED",
    "EXPERIMENT",
    "RUN",
    "STATUS",
    "ELAPSED",
    "BEAT",
    "PROGRESS",
    "LAST MESSAGE",
)


def add_follow(sub: Any) -> None:
    """Add ``follow`` to the subcommands."""
    parser = sub.add_parser(
        "follow",
        help="stream an execution's messages until it ends",
        description="Stream an execution's messages and status changes from the results "
        "database (and the Task's progress as it changes), from any node that sees the work "
        "directory, until it ends; exit with "
        "its exit code (0 COMPLETED, 1 FAILED or LOST, 124 TIMEDOUT, 130 CANCELLED).",
        epilog="examples:\n  lute-exec follow 42 -w ./lute-work\n"
        "  lute-exec follow --last -c config.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("execution_id", nargs="?", type=int, help="the execution to follow")
    which.add_argument("--last", action="store_true", help="the newest execution")
    add_database_options(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def add_top(sub: Any) -> None:
    """Add ``top`` to the subcommands."""
    parser = sub.add_parser(
        "top",
        help="running and recently ended executions",
        description="The running and recently ended executions of a work directory: "
        "managed task, experiment and run, status, elapsed time, heartbeat age and last "
        "message and progress. Runs whose Executor is gone are LOST. Refreshes in place on a "
        "terminal.",
    )
    add_database_options(parser)
    parser.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    parser.add_argument("--once", action="store_true", help="print once and exit")
    parser.add_argument("--json", action="store_true", help="machine-readable (implies --once)")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between refreshes (default 2)"
    )


def _open(args: argparse.Namespace) -> Any:
    from lute.io.db import Database

    return Database(database_path(args), readonly=True)


def follow(args: argparse.Namespace) -> int:
    """Stream one execution; its exit code."""
    from lute.io.db import DatabaseError

    try:
        db = _open(args)
    except (WhereError, DatabaseError) as failure:
        return error(str(failure))
    with db:
        try:
            return _follow(db, args)
        except DatabaseError as failure:
            return error(str(failure))


def _follow(db: Any, args: argparse.Namespace) -> int:
    from lute.execution.outcome import exit_code_for_status
    from lute.tasks.dataclasses import TaskStatus

    if args.last:
        newest = db.executions(limit=1)
        if not newest:
            return error("no executions in %s yet" % db.path)
        execution_id = newest[0].id
    else:
        execution_id = args.execution_id
    try:
        record = db.execution(execution_id)
    except (LookupError, KeyError) as failure:
        return error(str(failure))
    say = _JsonLines() if args.json else _Lines(record)
    say.header(record)
    last_id: Optional[int] = None
    status = None
    while True:
        record = db.execution(execution_id)  # the status first: no message is missed at the end
        for message in db.messages(execution_id, after_id=last_id):
            say.message(message)
            last_id = message.id
        if record.status != status:
            status = record.status
            say.status(record)
        if status in _ENDED:
            say.end(record)
            return exit_code_for_status(TaskStatus(status))
        time.sleep(FOLLOW_INTERVAL)


def status_time(record: Any) -> Any:
    """When the execution took its current status, as stored (a UTC datetime): its end,
    its start while it runs, else its creation (a LOST run: its last heartbeat)."""
    if record.status in _ENDED:
        return record.ended_at or record.heartbeat_at or record.created_at
    if record.status in ("RUNNING", "STOPPED"):
        return record.started_at or record.created_at
    return record.created_at


class _Lines:
    """``follow`` for people: one line per message and per status change."""

    def __init__(self, record: Any) -> None:
        self.label = record.managed_task

    def header(self, record: Any) -> None:
        print(
            "following execution %d: %s (Task %s), experiment %s, run %s"
            % (record.id, record.managed_task, record.task_name, record.experiment, record.run),
            flush=True,
        )

    def message(self, message: Any) -> None:
        rank = "" if message.rank is None else "[rank %s] " % message.rank
        what = "progress: " if message.progress is not None else ""
        text = "%s %s | %s%s%s" % (local_time(message.time), self.label, rank, what, message.text)
        print(text, flush=True)

    def status(self, record: Any) -> None:
        when = local_time(status_time(record))
        print("%s %s | status: %s" % (when, self.label, record.status), flush=True)

    def end(self, record: Any) -> None:
        from lute.io.elog import format_duration

        took = "" if record.duration is None else " in %s" % format_duration(record.duration)
        why = ""
        if record.error and record.status != "COMPLETED":
            why = ": %s" % record.error.strip().splitlines()[-1]
        print("%s %s%s%s" % (record.task_name, record.status, took, why), flush=True)


class _JsonLines:
    """``follow --json``: one JSON object per line, for scripts."""

    def header(self, record: Any) -> None:
        self._emit({"event": "execution", **record.to_dict()})

    def message(self, message: Any) -> None:
        if message.progress is not None:
            self._emit(
                {
                    "event": "progress",
                    "id": message.id,
                    "time": message.time,
                    "rank": message.rank,
                    **message.progress,
                }
            )
            return
        self._emit(
            {
                "event": "message",
                "id": message.id,
                "time": message.time,
                "rank": message.rank,
                "text": message.text,
            }
        )

    def status(self, record: Any) -> None:
        when = status_time(record)
        self._emit({"event": "status", "status": record.status, "time": when and when.isoformat()})

    def end(self, record: Any) -> None:
        self._emit(
            {
                "event": "end",
                "status": record.status,
                "duration": record.duration,
                "exit_code": record.exit_code,
                "error": record.error,
            }
        )

    @staticmethod
    def _emit(document: Dict[str, Any]) -> None:
        import json

        print(json.dumps(document, default=str), flush=True)


def top(args: argparse.Namespace) -> int:
    """List running and recent executions (refreshed on a terminal until Ctrl-C)."""
    from lute.io.db import DatabaseError

    try:
        db = _open(args)
    except (WhereError, DatabaseError) as failure:
        return error(str(failure))
    live = sys.stdout.isatty() and not (args.once or args.json)
    with db:
        try:
            while True:
                rows = _top_rows(db, args.limit)
                if args.json:
                    print_json(rows)
                    return 0
                if live:
                    sys.stdout.write("\033[H\033[J")
                print("%s  %s" % (db.path, time.strftime("%Y-%m-%d %H:%M:%S %Z")))
                print_table(_TOP_COLUMNS, [_top_line(row) for row in rows])
                if not live:
                    return 0
                sys.stdout.flush()
                time.sleep(max(0.2, args.interval))
        except KeyboardInterrupt:
            return 0
        except DatabaseError as failure:
            return error(str(failure))


def _top_rows(db: Any, limit: int) -> List[Dict[str, Any]]:
    """The running executions, then the most recently created others, up to ``limit``."""
    running = db.executions(status=["RUNNING", "PENDING", "STOPPED", "QUEUED"], limit=limit)
    others = db.executions(limit=limit)
    seen = {record.id for record in running}
    chosen = running + [record for record in others if record.id not in seen]
    now = time.time()
    rows = []
    for record in chosen[:limit]:
        last = db.last_messages(record.id, 1)
        progress = progress_document(db.last_progress(record.id))
        started = record.started_at or record.created_at
        ended = record.ended_at
        elapsed = None
        if started is not None:
            elapsed = (ended.timestamp() if ended else now) - started.timestamp()
        beat = record.heartbeat_at
        rows.append(
            {
                "id": record.id,
                "managed_task": record.managed_task,
                "task_name": record.task_name,
                "experiment": record.experiment,
                "run": record.run,
                "status": record.status,
                "elapsed": None if elapsed is None else round(elapsed, 1),
                "heartbeat_age": None if beat is None else round(now - beat.timestamp(), 1),
                "progress": progress,
                "last_message": last[0].text if last else None,
                "error": record.error,
            }
        )
    return rows


def _progress_cell(progress: Optional[Dict[str, Any]]) -> str:
    """``[#####.....] 42%``: a short bar and the percentage."""
    if not progress:
        return ""
    fraction = min(max(progress["fraction"], 0.0), 1.0)
    filled = round(fraction * 10)
    return "[%s%s] %3d%%" % ("#" * filled, "." * (10 - filled), int(fraction * 100))


def _top_line(row: Dict[str, Any]) -> List[str]:
    from lute.io.elog import format_duration

    last = row["last_message"] or (row["error"] or "").strip().splitlines()[-1:] or [""]
    text = last if isinstance(last, str) else last[0]
    ended = row["status"] in _ENDED
    return [
        str(row["id"]),
        row["managed_task"],
        row["experiment"] or "",
        str(row["run"] or ""),
        row["status"],
        "" if row["elapsed"] is None else format_duration(row["elapsed"]),
        "" if ended or row["heartbeat_age"] is None else "%.0f s ago" % row["heartbeat_age"],
        _progress_cell(row["progress"]),
        text if len(text) <= 50 else text[:47] + "...",
    ]
