"""``lute-exec db``: list executions and show one, from the results database."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from lute.execution.cli._common import error, print_json, print_table

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add ``db`` to the subcommands."""
    db = sub.add_parser(
        "db",
        help="inspect the results database",
        description="List executions or show one, from <work_dir>/lute.db.",
    )
    db.add_argument("action", choices=("list", "show"), nargs="?", default="list")
    db.add_argument("execution_id", nargs="?", type=int, help="execution to show")
    where = db.add_mutually_exclusive_group()
    where.add_argument("--db", dest="db_path", help="database file")
    where.add_argument("-w", "--work-dir", help="work directory holding lute.db (default: .)")
    db.add_argument("--task", help="only executions of this Task")
    db.add_argument("--status", help="only executions with this status")
    db.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    db.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """List executions, or show one."""
    from lute.io.db import Database, DatabaseError, default_db_path

    path = args.db_path or default_db_path(os.path.abspath(args.work_dir or "."))
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


def _show(db: Any, args: argparse.Namespace) -> int:
    if args.execution_id is None:
        return error("db show needs an execution id (see `lute-exec db list`)")
    try:
        record = db.execution(args.execution_id)
    except (LookupError, KeyError) as failure:
        return error(str(failure))
    shown = record.to_dict()
    shown["parameters"] = db.parameters(args.execution_id)
    shown["results"] = [r.to_dict() for r in db.results(args.execution_id)]
    if args.json:
        print_json(shown)
    else:
        _print_execution(shown)
    return 0


def _list(db: Any, args: argparse.Namespace) -> int:
    records = db.executions(task_name=args.task, status=args.status, limit=args.limit)
    if args.json:
        print_json([r.to_dict() for r in records])
        return 0
    rows = [
        (
            str(r.id),
            r.managed_task,
            r.task_name,
            str(r.experiment or ""),
            str(r.run or ""),
            r.status,
            str(r.started or r.created or "")[:19],
            str(r.exit_code if r.exit_code is not None else ""),
        )
        for r in records
    ]
    print_table(("ID", "MANAGED", "TASK", "EXPERIMENT", "RUN", "STATUS", "STARTED", "EXIT"), rows)
    return 0


def _print_execution(shown: Any) -> None:
    for key in (
        "id",
        "managed_task",
        "task_name",
        "experiment",
        "run",
        "status",
        "created",
        "started",
        "ended",
        "exit_code",
        "signal",
        "host",
        "work_dir",
    ):
        if key in shown:
            print("%-13s %s" % (key + ":", shown[key]))
    if shown.get("error"):
        print("error:\n  " + "\n  ".join(str(shown["error"]).rstrip().splitlines()))
    for warning in shown.get("warnings") or ():
        print("warning:      %s" % warning)
    print("results:")
    for result in shown["results"]:
        print("  [%s] %s: %s" % (result.get("position"), result.get("kind"), result.get("summary")))
    print("parameters:")
    print("  " + json.dumps(shown["parameters"], indent=2, default=str).replace("\n", "\n  "))
