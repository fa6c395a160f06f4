"""``lute-exec db config N`` and ``lute-exec rerun N``: an execution, reproduced.

The database keeps each execution's validated parameters (header included). ``db config``
writes them back as a config of the usual two YAML documents -- the header, then the
Task's section with every value as it was validated (computed defaults included) -- so
that running it again repeats execution N. ``rerun`` writes that config to
``<work_dir>/reruns/execution_<N>.yaml`` and runs it with N's managed task; the new
execution records that it reruns N (``rerun_of``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Tuple

from lute.execution.cli._common import error
from lute.execution.cli._where import WhereError, add_database_options, database_path

__all__ = ["add_config_parser", "add_parser", "config_text", "rerun", "write_config"]

HEADER = "lute_config"


def add_config_parser(actions: Any) -> None:
    """Add ``db config`` to the ``db`` actions."""
    config = actions.add_parser(
        "config",
        help="the config that reproduces an execution",
        description="Write the two-document YAML config (header, then the Task's section "
        "with its validated values) that runs execution N again.",
    )
    config.add_argument("execution_id", type=int, help="the execution (see `db list`)")
    add_database_options(config)
    config.add_argument("-o", "--output", metavar="FILE", help="write it here (default: stdout)")


def add_parser(sub: Any) -> None:
    """Add ``rerun`` to the subcommands."""
    parser = sub.add_parser(
        "rerun",
        help="run an execution again, as it was configured",
        description="Run execution N again with the parameters it was validated with "
        "(`lute-exec db config N`), as its managed task; the new execution is linked to N. "
        "The exit code reflects the Task's final status, as for `run`.",
    )
    parser.add_argument("execution_id", type=int, help="the execution (see `db list`)")
    add_database_options(parser)
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="Task.param=value",
        help="parameter overrides applied after the reproduced config",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be launched, with its environment; write nothing but the config",
    )


def _section_name(managed_task: str, task_name: str) -> str:
    """The section execution N's managed task reads (``Test_0`` for ``Tester_0``)."""
    from lute.io.config import sweep_parts, sweep_section

    return sweep_section(task_name, sweep_parts(managed_task)[1])


def config_text(record: Any, parameters: Dict[str, Any]) -> str:
    """The YAML config of an execution (its record and its stored parameters)."""
    import yaml

    section = {key: value for key, value in parameters.items() if key != HEADER}
    header = parameters.get(HEADER) or {}
    name = _section_name(record.managed_task, record.task_name)
    comment = "# Execution %d of %s (Task %s), %s: `lute-exec rerun %d` runs it again.\n" % (
        record.id,
        record.managed_task,
        record.task_name,
        record.status,
        record.id,
    )

    def dump(document: Dict[str, Any]) -> str:
        return str(
            yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)
        )

    return "%s---\n%s...\n---\n%s...\n" % (comment, dump(header), dump({name: section}))


def _execution(args: argparse.Namespace) -> Tuple[Any, Dict[str, Any]]:
    """Execution N's record and parameters (``LookupError``, ``DatabaseError`` if not)."""
    from lute.io.db import Database

    with Database(database_path(args), readonly=True) as db:
        return db.execution(args.execution_id), db.parameters(args.execution_id)


def write_config(args: argparse.Namespace) -> int:
    """``db config N``: print (or write) the config of execution N."""
    from lute.io.db import DatabaseError

    try:
        record, parameters = _execution(args)
    except (WhereError, DatabaseError, LookupError) as failure:
        return error(str(failure))
    text = config_text(record, parameters)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def rerun(args: argparse.Namespace) -> int:
    """``rerun N``: run execution N again, linked to it."""
    from lute.execution.cli._run import run
    from lute.io.db import DatabaseError

    try:
        record, parameters = _execution(args)
    except (WhereError, DatabaseError, LookupError) as failure:
        return error(str(failure))
    work_dir = (parameters.get(HEADER) or {}).get("work_dir") or record.work_dir or "."
    path = os.path.join(work_dir, "reruns", "execution_%d.yaml" % record.id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(config_text(record, parameters))
    sys.stderr.write("lute-exec: rerunning execution %d from %s\n" % (record.id, path))
    run_args = argparse.Namespace(
        config=path,
        managed_task=record.managed_task,
        overrides=args.overrides,
        dry_run=args.dry_run,
        timeout=None,
        kill_grace=None,
        claim=None,
        claim_db=None,
        rerun_of=record.id,
    )
    return run(run_args)
