"""``lute-exec db list``, ``db show``, ``db config`` and ``db import``: what the results
database recorded, an execution's config, and an original LUTE database's history."""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List, Optional

from lute.execution.cli._common import error, print_json, print_table
from lute.execution.cli._where import (
    WhereError,
    add_database_options,
    database_path,
    local_time,
    parse_time,
)

__all__ = ["add_parser", "run"]

_SUMMARY_WIDTH = 40
_COLUMNS = (
    "ID",
    "MANAGED",
    "TASK",
    "EXPERIMENT",
    "RUN",
    "STATUS",
    "STARTED",
    "TOOK",
    "EXIT",
    "SUMMARY",
)


def add_parser(sub: Any) -> None:
    """Add ``db list`` and ``db show`` to the subcommands."""
    db = sub.add_parser(
        "db",
        help="search the results database",
        description="List executions, or show one, from a work directory's lute.db.",
        epilog="examples:\n"
        "  lute-exec db list -c config.yaml --experiment xpp12345 --run 12\n"
        "  lute-exec db list -w ./lute-work --status FAILED LOST --since 2h\n"
        "  lute-exec db show 3 -w ./lute-work --json\n"
        "  lute-exec db config 3 -w ./lute-work -o again.yaml\n"
        "  lute-exec db import /old/work/lute.db --into ./lute-work/lute.db",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="executions, newest first",
        description="Executions, newest first: status, times (local, with the zone), "
        "duration and a short summary. RUNNING executions whose Executor is gone show as LOST.",
    )
    add_database_options(listing)
    found = listing.add_argument_group("which executions")
    found.add_argument("--experiment", help="of this experiment")
    found.add_argument("--run", help="of this run (12 also finds 0012)")
    found.add_argument("--managed", metavar="MANAGED_TASK", help="of this managed task")
    found.add_argument("--task", metavar="TASK", help="of this Task")
    found.add_argument(
        "--status", nargs="+", metavar="STATUS", help="with one of these statuses (LOST too)"
    )
    found.add_argument("--since", type=parse_time, help="created at or after (2h, 2026-12-01)")
    found.add_argument("--until", type=parse_time, help="created before")
    found.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = actions.add_parser(
        "show",
        help="one execution in full",
        description="One execution: status, times, paths of its log and report, its "
        "error and warnings, results, messages and parameters.",
    )
    show.add_argument("execution_id", type=int, help="the execution (see `db list`)")
    add_database_options(show)
    show.add_argument(
        "--messages", type=int, default=20, metavar="N", help="show the last N messages (20)"
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")
    from lute.execution.cli._db_import import add_import_parser
    from lute.execution.cli._rerun import add_config_parser

    add_config_parser(actions)
    add_import_parser(actions)


def run(args: argparse.Namespace) -> int:
    """List executions, show one, write one's config, or import an original database."""
    from lute.io.db import Database, DatabaseError

    if args.action == "config":
        from lute.execution.cli._rerun import write_config

        return write_config(args)
    if args.action == "import":
        from lute.execution.cli._db_import import run_import

        return run_import(args)
    try:
        path = database_path(args)
    except WhereError as failure:
        return error(str(failure))
    try:
        db = Database(path, readonly=True)
    except DatabaseError as failure:
        return error(str(failure))
    with db:
        try:
            if args.action == "show":
                return _show(db, args)
            return _list(db, args)
        except DatabaseError as failure:
            return error(str(failure))


def _list(db: Any, args: argparse.Namespace) -> int:
    records = db.executions(
        experiment=args.experiment,
        run=args.run,
        managed_task=args.managed,
        task_name=args.task,
        status=[status.upper() for status in args.status] if args.status else None,
        created_after=args.since,
        created_before=args.until,
        limit=args.limit,
    )
    if args.json:
        print_json([_with_summary(db, record.to_dict()) for record in records])
        return 0
    rows = [
        (
            str(r.id),
            r.managed_task,
            r.task_name,
            r.experiment or "",
            r.run or "",
            r.status,
            local_time(r.started or r.created),
            _duration(r.duration),
            "" if r.exit_code is None else str(r.exit_code),
            _short(_summary(db, r.id) or _last_line(r.error)),
        )
        for r in records
    ]
    print_table(_COLUMNS, rows)
    return 0


def _show(db: Any, args: argparse.Namespace) -> int:
    try:
        record = db.execution(args.execution_id)
    except (LookupError, KeyError) as failure:
        return error(str(failure))
    shown = record.to_dict()
    shown["parameters"] = db.parameters(args.execution_id)
    shown["results"] = [r.to_dict() for r in db.results(args.execution_id)]
    stored = db.messages(args.execution_id)
    # The progress row is shown as the execution's progress, not as a message.
    shown["progress"] = progress_document(db.last_progress(args.execution_id))
    shown["messages"] = [m.to_dict() for m in stored if m.progress is None]
    if args.json:
        print_json(shown)
    else:
        _print_execution(shown, args.messages)
    return 0


def progress_document(stored: Any) -> Optional[Dict[str, Any]]:
    """The ``progress`` of ``db show --json`` (and ``top``): the stored progress's
    ``fraction``, ``done``, ``total``, ``text``, with its ``time`` and ``rank``."""
    if stored is None or stored.progress is None:
        return None
    return {**stored.progress, "time": stored.time, "rank": stored.rank}


def _with_summary(db: Any, shown: Dict[str, Any]) -> Dict[str, Any]:
    shown["summary"] = _summary(db, shown["id"])
    return shown


def _summary(db: Any, execution_id: int) -> str:
    """The first line of the first result's summary (``""`` without results)."""
    for result in db.results(execution_id):
        if result.summary:
            return str(result.summary).strip().splitlines()[0]
    return ""


def _last_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _short(text: str) -> str:
    return text if len(text) <= _SUMMARY_WIDTH else text[: _SUMMARY_WIDTH - 3] + "..."


def _duration(seconds: Any) -> str:
    if seconds is None:
        return ""
    from lute.io.elog import format_duration

    return format_duration(seconds)


def _print_execution(shown: Dict[str, Any], last_messages: int) -> None:
    for key in ("id", "managed_task", "task_name", "experiment", "run", "status"):
        print("%-13s %s" % (key + ":", shown.get(key) if shown.get(key) is not None else ""))
    for key in ("created", "started", "ended"):
        print("%-13s %s" % (key + ":", local_time(shown.get(key))))
    print("%-13s %s" % ("duration:", _duration(shown.get("duration"))))
    for key in ("exit_code", "signal", "host", "work_dir", "log_path", "report_path"):
        value = shown.get(key)
        print("%-13s %s" % ((key.replace("_path", "") + ":"), "" if value is None else value))
    if shown.get("slurm_job_id"):
        index = shown.get("slurm_array_index")
        job = str(shown["slurm_job_id"]) + ("" if index is None else "_%s" % index)
        print("%-13s %s" % ("slurm job:", job))
    if shown.get("error"):
        print("error:\n  " + "\n  ".join(str(shown["error"]).rstrip().splitlines()))
    for warning in shown.get("warnings") or ():
        print("warning:      %s" % warning)
    progress = shown.get("progress")
    if progress:
        rank = (
            "" if progress["rank"] is None else " (rank %s, the furthest behind)" % progress["rank"]
        )
        when = local_time(progress["time"])
        print("%-13s %s at %s%s" % ("progress:", progress["text"], when, rank))
    print("results:")
    for result in shown["results"]:
        print("  [%s] %s: %s" % (result.get("position"), result.get("kind"), result.get("summary")))
    messages: List[Dict[str, Any]] = shown["messages"]
    received = shown.get("messages_received") or len(messages)
    dropped = shown.get("messages_dropped") or 0
    note = " (%d not stored: over the cap)" % dropped if dropped else ""
    print(
        "messages: %d received%s; the last %d:"
        % (received, note, min(last_messages, len(messages)))
    )
    for message in messages[-last_messages:] if last_messages > 0 else []:
        rank = "" if message["rank"] is None else "[rank %s] " % message["rank"]
        level = "%s " % message["level"] if message.get("level") else ""
        print("  %s %s%s%s" % (local_time(message["time"]), rank, level, message["text"]))
    print("parameters:")
    print("  " + json.dumps(shown["parameters"], indent=2, default=str).replace("\n", "\n  "))
