"""``lute-exec status`` and ``lute-exec cancel``: submitted work, beside SLURM's view of it."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any, List, Optional, Sequence

from lute.execution.cli._common import error, print_json, print_table, slurm_job
from lute.execution.cli._where import (
    WhereError,
    add_database_options,
    open_submitted,
)
from lute.execution.outcome import EXIT_USAGE

__all__ = ["add_cancel", "add_status", "cancel", "failed", "show_rows", "status"]

_STATUS_EXAMPLES = """\
examples:
  lute-exec status -w ./lute-work                 the newest submission
  lute-exec status 4242 -w ./lute-work            every task of job (array) 4242
  lute-exec status 4242_3 4243 -w ./lute-work     one array task, and another job
  lute-exec status -c config.yaml -r 12-40        runs 12 to 40 of the config's experiment
  lute-exec status --submission 3 --json          for scripts

SLURM's state stands beside the database's. Where they disagree the database is
corrected and the change printed: a job cancelled while pending is CANCELLED, a job
that ended before its run started FAILED, a job at its time limit TIMEDOUT, a job SLURM
has forgotten (MinJobAge) while its row was queued or running LOST.
"""

_CANCEL_EXAMPLES = """\
examples:
  lute-exec cancel 4242 -w ./lute-work            the whole job (array) 4242
  lute-exec cancel 4242_3 -w ./lute-work          one array task
  lute-exec cancel --submission 3 -w ./lute-work  every unfinished job of submission 3

Executions that had not started are recorded CANCELLED at once; running ones receive
SIGTERM from SLURM and record CANCELLED themselves.
"""


def _selection_arguments(parser: argparse.ArgumentParser, *, needed: bool) -> None:
    parser.add_argument(
        "jobs",
        nargs="*",
        type=slurm_job,
        metavar="JOB",
        help="job ids (4242) or array tasks (4242_3)"
        + ("" if needed else "; default: the newest submission"),
    )
    parser.add_argument(
        "--submission", type=int, metavar="N", help="the executions of submission N"
    )


def add_status(sub: Any) -> None:
    """Add ``status`` to the subcommands."""
    parser = sub.add_parser(
        "status",
        help="submitted executions beside their SLURM jobs",
        description="Show submitted executions with their SLURM job's state beside the "
        "database's status, reconcile the two and record what SLURM's view decides.",
        epilog=_STATUS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _selection_arguments(parser, needed=False)
    parser.add_argument("-e", "--experiment", help="submitted executions of this experiment")
    parser.add_argument("-r", "--runs", metavar="RUNS", help="of these runs (12-40,45)")
    add_database_options(parser)
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="show what reconciling decides without recording it",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_cancel(sub: Any) -> None:
    """Add ``cancel`` to the subcommands."""
    parser = sub.add_parser(
        "cancel",
        help="cancel submitted jobs (scancel) and record it",
        description="Cancel SLURM jobs or array tasks of submitted executions with scancel "
        "and record it in the database.",
        epilog=_CANCEL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _selection_arguments(parser, needed=True)
    add_database_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _select(db: Any, args: argparse.Namespace) -> List[Any]:
    from lute.execution.slurm import parse_runs, select_executions

    runs = parse_runs(args.runs) if getattr(args, "runs", None) else None
    return select_executions(
        db,
        jobs=args.jobs,
        submission_id=args.submission,
        experiment=getattr(args, "experiment", None),
        runs=runs,
    )


def show_rows(rows: Sequence[Any], directory: Optional[str] = None) -> None:
    """The status table, what reconciling changed, and a count per status."""
    table = []
    for row in rows:
        record = row.execution
        log = row.log or ""
        if log and directory and log.startswith(directory + os.sep):
            log = os.path.relpath(log, directory)
        table.append(
            (
                str(record.id),
                row.job or "-",
                str(record.run if record.run is not None else ""),
                row.point,
                row.slurm.describe() if row.slurm is not None else "-",
                row.status,
                log,
            )
        )
    print_table(("ID", "JOB", "RUN", "POINT", "SLURM", "STATUS", "LOG"), table)
    for row in rows:
        if row.change is not None:
            print("execution %d: %s -> %s: %s" % (row.execution.id, *row.change))
    if rows:
        counts = Counter(row.status for row in rows)
        print(
            "%d execution%s: %s"
            % (
                len(rows),
                "" if len(rows) == 1 else "s",
                ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items())),
            )
        )


def failed(failure: Exception) -> Optional[int]:
    """The exit code of an expected failure (its text printed), else ``None``."""
    from lute.execution.slurm import SlurmError, SubmitError
    from lute.io.db import DatabaseError

    if isinstance(failure, (DatabaseError, SubmitError, SlurmError, OSError, WhereError)):
        return error(str(failure))
    from lute.io.config import ConfigError

    if isinstance(failure, ConfigError):  # -c CONFIG that does not validate
        sys.stderr.write("%s\n" % failure)
        return EXIT_USAGE
    return None


def status(args: argparse.Namespace) -> int:
    """Show (and reconcile) submitted executions."""
    from lute.execution.slurm import status as reconcile

    try:
        with open_submitted(args, what="nothing", write=not args.no_record) as db:
            rows, warning = reconcile(db, _select(db, args), record=not args.no_record)
            directory = os.path.dirname(db.path)  # -c CONFIG: not read a second time
    except Exception as failure:
        code = failed(failure)
        if code is None:
            raise
        return code
    if warning is not None:
        error(warning, 0)
    if args.json:
        print_json([row.to_dict() for row in rows])
    else:
        show_rows(rows, directory)
    return 0


def cancel(args: argparse.Namespace) -> int:
    """scancel the jobs asked for and record it."""
    from lute.execution.slurm import cancel as scancel

    if not args.jobs and args.submission is None:
        return error("say what to cancel: JOB ids (4242, 4242_3) or --submission N")
    try:
        with open_submitted(args, what="nothing", write=True) as db:
            records = _select(db, args)
            if not records:
                return error("no submitted executions for %s" % _what(args))
            done = scancel(db, records, jobs=args.jobs)
    except Exception as failure:
        code = failed(failure)
        if code is None:
            raise
        return code
    if done.warning:
        error(done.warning, 0)
    if args.json:
        print_json(done.to_dict())
        return 0
    print(
        "scancel %s: %d not started (recorded CANCELLED), %d running (they record their "
        "end), %d ended already"
        % (" ".join(done.targets), len(done.cancelled), len(done.stopping), len(done.finished))
    )
    return 0


def _what(args: argparse.Namespace) -> str:
    if args.jobs:
        return "job%s %s" % ("" if len(args.jobs) == 1 else "s", " ".join(args.jobs))
    return "submission %s" % args.submission
