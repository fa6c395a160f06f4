"""``lute-exec list`` and ``lute-exec describe``: what can be run, and with what."""

from __future__ import annotations

import argparse
import json
from typing import Any

from lute.execution.cli._common import error, print_table

__all__ = ["add_describe", "add_list", "describe", "list_managed_tasks"]


def add_list(sub: Any) -> None:
    """Add ``list`` to the subcommands."""
    parser = sub.add_parser(
        "list",
        help="list managed tasks",
        description="List managed tasks: their names, Tasks and Executor classes.",
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--names", action="store_true", help="only the names, one per line")
    only.add_argument(
        "--tasks", action="store_true", help="only the Task names (of the parameter models)"
    )
    only.add_argument("--json", action="store_true", help="machine-readable output")


def add_describe(sub: Any) -> None:
    """Add ``describe`` to the subcommands."""
    parser = sub.add_parser(
        "describe",
        help="describe a Task's parameters",
        description="Show a Task's parameters: types, defaults and descriptions. Accepts a "
        "Task name or a managed task name.",
    )
    parser.add_argument("name", help="Task or managed task name")
    parser.add_argument("--json", action="store_true", help="print the JSON schema")


def list_managed_tasks(args: argparse.Namespace) -> int:
    """Print every managed task with its Task and Executor class."""
    from lute.managed_tasks import get_managed_task, managed_task_names

    if args.names:  # for shell completion: nothing is imported but the names
        print("\n".join(managed_task_names()))
        return 0
    if args.tasks:
        from lute.io.models import list_models

        print("\n".join(list_models()))
        return 0
    rows = []
    for name in managed_task_names():
        try:
            executor = get_managed_task(name)
            rows.append((name, executor.task_name, type(executor).__name__))
        except Exception as failure:  # one broken plug-in must not hide the others
            rows.append((name, "?", "error: %s" % failure))
    if args.json:
        print(json.dumps([dict(zip(("managed_task", "task", "executor"), row)) for row in rows]))
        return 0
    print_table(("MANAGED TASK", "TASK", "EXECUTOR"), rows)
    return 0


def describe(args: argparse.Namespace) -> int:
    """Print a Task's parameters (or their JSON schema)."""
    from lute.io.models import describe_model, get_model

    name = args.name
    try:
        from lute.managed_tasks import get_managed_task

        name = get_managed_task(name).task_name
    except LookupError:
        pass
    try:
        model = get_model(name)
    except LookupError as failure:
        return error(str(failure))
    if args.json:
        print(json.dumps(model.model_json_schema(), indent=2))
    else:
        print(describe_model(model))
    return 0
