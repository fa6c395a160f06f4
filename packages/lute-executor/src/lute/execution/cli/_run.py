"""``lute-exec run``: validate a config, launch the managed task's Task, follow it."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Optional, Tuple

from lute.execution.cli._common import error
from lute.execution.outcome import EXIT_CANCELLED, EXIT_USAGE

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add ``run`` to the subcommands."""
    parser = sub.add_parser(
        "run",
        help="run a managed task",
        description="Validate the config, launch the managed task's Task and follow it. "
        "The exit code reflects the Task's final status.",
        epilog="exit codes: 0 COMPLETED, 1 FAILED, 2 invalid config or environment "
        "(nothing recorded), 3 internal error, 124 TIMEDOUT, 130 CANCELLED",
    )
    parser.add_argument("-c", "--config", help="YAML config (default: $LUTE_CONFIGPATH)")
    parser.add_argument(
        "-t",
        "--taskname",
        "--task",
        dest="managed_task",
        required=True,
        help="managed task to run (see `lute-exec list`)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="Task.param=value",
        help="parameter overrides applied after the config file",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be launched, with its environment; write nothing",
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        help="seconds before the Task is stopped (default: task_timeout from the config)",
    )
    parser.add_argument(
        "--claim",
        type=int,
        metavar="EXECUTION",
        help="run as the QUEUED execution EXECUTION (what `lute-exec submit`'s batch "
        "scripts pass; default: a new execution)",
    )
    parser.add_argument(
        "--db",
        dest="claim_db",
        metavar="PATH",
        help="with --claim: the results database holding EXECUTION; the claim is then "
        "checked before the config is read (a workflow node whose upstream failed is "
        "recorded CANCELLED and not run) and a failure to start is recorded on it",
    )
    parser.add_argument(
        "--kill-grace",
        type=_positive,
        metavar="SECONDS",
        help="seconds a stopped Task gets between SIGTERM and SIGKILL (default: kill_grace "
        "from the config, else the managed task's, 10)",
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds" % text) from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0, got %s" % text)
    return value


def run(args: argparse.Namespace) -> int:
    """Run the managed task; the exit code of its final status."""
    from lute.execution import _gc_pause

    _gc_pause.pause()  # until the Task is launched (the run resumes it then)
    try:
        return _run(args, on_launched=_gc_pause.resume)
    finally:
        _gc_pause.resume()


def _original_debug_exits(args: argparse.Namespace) -> Optional[str]:
    """The original LUTE's ``LUTE_DEBUG_EXIT_AT_YAML`` / ``LUTE_DEBUG_BEFORE_TPP_EXEC``
    stopped a run before its Task ran: here they make it a dry run, which shows what
    the original stopped to show, and one line says so. Returns the variables' names
    when they turned the run into a dry run."""
    from lute.settings import DEBUG_BEFORE_TPP_EXEC, DEBUG_EXIT_AT_YAML

    names = [s.name for s in (DEBUG_EXIT_AT_YAML, DEBUG_BEFORE_TPP_EXEC) if os.environ.get(s.name)]
    if not names or args.dry_run:
        return None
    claimed = ""
    if args.claim is not None and args.claim_db is not None:
        claimed = "; execution %d is recorded CANCELLED" % args.claim
    sys.stderr.write(
        "lute-exec: %s: the original LUTE's, not used here; lute-exec run --dry-run "
        "shows the same, so this is a dry run (nothing launched%s)\n"
        % (" and ".join(names), claimed or " or written")
    )
    args.dry_run = True
    return " and ".join(names)


def _run(args: argparse.Namespace, on_launched: Optional[Callable[[], None]]) -> int:
    debug_exit = _original_debug_exits(args)
    claimed = args.claim is not None and args.claim_db is not None
    if args.claim_db is not None and args.claim is None:
        return error("--db names the database of --claim's execution; give --claim too")
    if claimed:
        from lute.execution.cli._claim import refusal
        from lute.io.db import DatabaseError

        try:
            refused = refusal(args.claim_db, args.claim)
        except DatabaseError as failure:
            return error(str(failure))
        if refused is not None:
            sys.stderr.write(
                "lute-exec: execution %d recorded CANCELLED, not run: %s\n" % (args.claim, refused)
            )
            return EXIT_CANCELLED
    code, why = _run_claimed(args, on_launched)
    if debug_exit is not None and why is None:
        # The job will not run it later: a row left QUEUED would wait for ever.
        why = "%s made it a dry run (the original LUTE's debug exit)" % debug_exit
        code = EXIT_CANCELLED if claimed else code
    if why is not None and claimed:
        from lute.execution.cli._claim import record_not_started

        status = "CANCELLED" if code == EXIT_CANCELLED else "FAILED"
        record_not_started(args.claim_db, args.claim, why, status)
    return code


def _run_claimed(
    args: argparse.Namespace, on_launched: Optional[Callable[[], None]]
) -> Tuple[int, Optional[str]]:
    """The exit code, and why the run never started (``None``: it did, or a dry run)."""
    from lute.execution.environments import EnvironmentError_
    from lute.execution.errors import ExecutorError
    from lute.execution.mpi import MPILaunchError
    from lute.execution.outcome import exit_code_for_status
    from lute.io.db import DatabaseError
    from lute.managed_tasks import ManagedTaskNotFound, get_managed_task

    try:
        executor = get_managed_task(args.managed_task)
    except ManagedTaskNotFound as failure:
        return error(str(failure)), str(failure)
    try:
        status = executor.execute_task(
            args.config,
            args.overrides,
            dry_run=args.dry_run,
            timeout=args.timeout,
            kill_grace=args.kill_grace,
            on_launched=on_launched,
            claim=args.claim,
            rerun_of=getattr(args, "rerun_of", None),
        )
    except KeyboardInterrupt as interrupt:
        # Before the run was recorded (while validating); once it is, a signal cancels
        # the run through its event loop and it ends CANCELLED with its record.
        why = "%s: " % interrupt if str(interrupt) else ""
        sys.stderr.write(
            "lute-exec: %sinterrupted before the Task was running; nothing recorded\n" % why
        )
        return EXIT_CANCELLED, "%sinterrupted before the Task was running" % why
    except BrokenPipeError:
        raise  # the reader of a dry run left (| head): main ends quietly
    except (ExecutorError, EnvironmentError_, MPILaunchError, DatabaseError, OSError) as failure:
        return error(str(failure)), str(failure)
    except LookupError as failure:  # an unknown Task or parameter model
        return error(str(failure)), str(failure)
    except Exception as failure:
        # Imported only now: pydantic and the models load while the Task starts up.
        from lute.io.config import ConfigError

        if not isinstance(failure, ConfigError):
            raise
        sys.stderr.write("%s\n" % failure)
        return EXIT_USAGE, "the config did not validate:\n%s" % failure
    if args.dry_run:
        return 0, None
    return exit_code_for_status(status), None
