"""``lute-exec``: run managed tasks and inspect what they recorded.

``LUTE_FAST_EXIT=0`` turns off the fast exit (see :func:`console_main`).

Exit codes of ``lute-exec run``: 0 COMPLETED, 1 FAILED, 2 bad usage / invalid config /
environment unusable (nothing recorded), 124 TIMEDOUT, 130 CANCELLED.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, List, Optional, Sequence

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EPILOG = """\
examples:
  lute-exec run -c config.yaml -t Tester                 run the Test Task
  lute-exec run -c config.yaml -t Tester Test.float_var=2.5 Test.compound_var.int_var=3
  lute-exec run -c config.yaml -t Tester --dry-run       show what would be launched
  lute-exec list                                         managed tasks and their Tasks
  lute-exec describe Test                                parameters of the Test Task
  lute-exec db list -w ./lute-work                       recent executions
  lute-exec db show 3 -w ./lute-work --json              one execution, for scripts

environment:
  LUTE_CONFIGPATH          config file when -c is not given
  LUTE_MPI_RANKS           ranks of MPI Tasks (else the config, SLURM, or 2)
  LUTE_MPI_LAUNCHER        launcher for MPI Tasks (default: srun in SLURM, else mpirun)
  LUTE_USE_ZMQ=1           offer ZMQ beside the socket (Task env must have pyzmq)
  LUTE_DB_JOURNAL_MODE     DELETE for databases on NFS (default WAL)
  LUTE_ELOG_URL, LUTE_ELOG_USER, LUTE_ELOG_PASSWORD, JID_UPDATE_COUNTERS
                           eLog posting (see docs/reporting.md)
  LUTE_CONFIG_CACHE=0      parse the YAML on every run (no parsed-config cache)
  XDG_CACHE_HOME           where probe results and parsed configs are cached
"""


def _parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The ``lute-exec`` parser; with ``command``, only that subcommand's parser is built.

    Building every subcommand's arguments (and translating their help texts) costs a
    few milliseconds of each run; top-level help and errors use the whole parser.
    """
    from lute.runtime_version import __version__

    parser = argparse.ArgumentParser(
        prog="lute-exec",
        description="Run LUTE managed tasks: validate parameters from a YAML config, launch "
        "the Task, follow it and record its status and results.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="lute-exec %s" % __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, build in _SUBCOMMANDS.items():
        if command is None or command == name:
            build(sub)
    return parser


def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run a managed task",
        description="Validate the config, launch the managed task's Task and follow it. "
        "The exit code reflects the Task's final status.",
        epilog="exit codes: 0 COMPLETED, 1 FAILED, 2 invalid config or environment "
        "(nothing recorded), 124 TIMEDOUT, 130 CANCELLED",
    )
    run.add_argument("-c", "--config", help="YAML config (default: $LUTE_CONFIGPATH)")
    run.add_argument(
        "-t",
        "--taskname",
        "--task",
        dest="managed_task",
        required=True,
        help="managed task to run (see `lute-exec list`)",
    )
    run.add_argument(
        "overrides",
        nargs="*",
        metavar="Task.param=value",
        help="parameter overrides applied after the config file",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be launched, with its environment; write nothing",
    )
    run.add_argument(
        "--timeout",
        type=float,
        help="seconds before the Task is stopped (default: task_timeout from the config)",
    )


def _add_list(sub: Any) -> None:
    sub.add_parser("list", help="list managed tasks", description="List managed tasks.")


def _add_describe(sub: Any) -> None:
    describe = sub.add_parser(
        "describe",
        help="describe a Task's parameters",
        description="Show a Task's parameters: types, defaults and descriptions. Accepts a "
        "Task name or a managed task name.",
    )
    describe.add_argument("name", help="Task or managed task name")
    describe.add_argument("--json", action="store_true", help="print the JSON schema")


def _add_db(sub: Any) -> None:
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


# In the order ``lute-exec --help`` lists them.
_SUBCOMMANDS = {"run": _add_run, "list": _add_list, "describe": _add_describe, "db": _add_db}


def _error(message: str) -> int:
    sys.stderr.write("lute-exec: error: %s\n" % message)
    return EXIT_USAGE


def _cmd_run(args: argparse.Namespace) -> int:
    from lute.execution import _gc_pause

    _gc_pause.pause()  # until the Task is launched (the run resumes it then)
    try:
        return _run(args, on_launched=_gc_pause.resume)
    finally:
        _gc_pause.resume()


def _run(args: argparse.Namespace, on_launched: Any) -> int:
    from lute.execution.environments import EnvironmentError_
    from lute.execution.errors import ExecutorError
    from lute.execution.mpi import MPILaunchError
    from lute.execution.outcome import exit_code_for_status
    from lute.managed_tasks import ManagedTaskNotFound, get_managed_task

    try:
        executor = get_managed_task(args.managed_task)
    except ManagedTaskNotFound as error:
        return _error(str(error))
    try:
        status = executor.execute_task(
            args.config,
            args.overrides,
            dry_run=args.dry_run,
            timeout=args.timeout,
            on_launched=on_launched,
        )
    except KeyboardInterrupt:
        # Before the Task runs (while validating); once it runs, Ctrl-C is forwarded to
        # it and the run ends CANCELLED through the normal path.
        sys.stderr.write("lute-exec: interrupted before the Task was running\n")
        return EXIT_INTERRUPTED
    except (ExecutorError, EnvironmentError_, MPILaunchError, OSError) as error:
        return _error(str(error))
    except Exception as error:
        # Imported only now: pydantic and the models load while the Task starts up.
        from lute.io.config import ConfigError

        if not isinstance(error, ConfigError):
            raise
        sys.stderr.write("%s\n" % error)
        return EXIT_USAGE
    if args.dry_run:
        return 0
    return exit_code_for_status(status)


def _cmd_list(_args: argparse.Namespace) -> int:
    from lute.managed_tasks import get_managed_task, managed_task_names

    rows = []
    for name in managed_task_names():
        try:
            executor = get_managed_task(name)
            rows.append((name, executor.task_name, type(executor).__name__))
        except Exception as error:  # one broken plug-in must not hide the others
            rows.append((name, "?", "error: %s" % error))
    _print_table(("MANAGED TASK", "TASK", "EXECUTOR"), rows)
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    from lute.io.models import describe_model, get_model

    name = args.name
    try:
        from lute.managed_tasks import get_managed_task

        name = get_managed_task(name).task_name
    except LookupError:
        pass
    try:
        model = get_model(name)
    except LookupError as error:
        return _error(str(error))
    if args.json:
        print(json.dumps(model.model_json_schema(), indent=2))
    else:
        print(describe_model(model))
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from lute.io.db import Database, DatabaseError, default_db_path

    path = args.db_path or default_db_path(os.path.abspath(args.work_dir or "."))
    try:
        db = Database(path, readonly=True)
    except DatabaseError as error:
        return _error(str(error))
    with db:
        if args.action == "show":
            if args.execution_id is None:
                return _error("db show needs an execution id (see `lute-exec db list`)")
            try:
                record = db.execution(args.execution_id)
            except (DatabaseError, LookupError, KeyError) as error:
                return _error(str(error))
            shown = record.to_dict()
            shown["parameters"] = db.parameters(args.execution_id)
            shown["results"] = [r.to_dict() for r in db.results(args.execution_id)]
            if args.json:
                print(json.dumps(shown, indent=2, default=str))
            else:
                _print_execution(shown)
            return 0
        records = db.executions(task_name=args.task, status=args.status, limit=args.limit)
        if args.json:
            print(json.dumps([r.to_dict() for r in records], indent=2, default=str))
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
        _print_table(
            ("ID", "MANAGED", "TASK", "EXPERIMENT", "RUN", "STATUS", "STARTED", "EXIT"), rows
        )
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
    print("results:")
    for result in shown["results"]:
        print("  [%s] %s: %s" % (result.get("position"), result.get("kind"), result.get("summary")))
    print("parameters:")
    print("  " + json.dumps(shown["parameters"], indent=2, default=str).replace("\n", "\n  "))


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not rows:
        print("(none)")


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``lute-exec`` console script."""
    arguments = sys.argv[1:] if argv is None else argv
    named = arguments[0] if arguments and arguments[0] in _SUBCOMMANDS else None
    parser = _parser(named)
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handler = {"run": _cmd_run, "list": _cmd_list, "describe": _cmd_describe, "db": _cmd_db}
    return handler[args.command](args)


def console_main() -> None:
    """The ``lute-exec`` console script: :func:`main`, then a fast exit.

    Interpreter teardown (garbage-collecting pydantic and every model) costs ~25 ms per
    run, a sixth of a no-op run, and hundreds of runs happen per experiment. Everything
    lute-exec opened is closed by then (database, IPC listener, log and report files),
    so the process flushes its streams and logging handlers and leaves with
    ``os._exit``. ``LUTE_FAST_EXIT=0`` restores a normal exit (for coverage or profilers,
    which write their data at exit).
    """
    code = main()
    if os.environ.get("LUTE_FAST_EXIT", "1") == "0":
        sys.exit(code)
    logging_module = sys.modules.get("logging")
    if logging_module is not None:
        logging_module.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said anyway
            pass
    os._exit(code)


if __name__ == "__main__":
    console_main()
