"""``lute-exec submit`` and ``lute-exec resubmit``: managed tasks as SLURM jobs (arrays).

Both take sbatch options after ``--``: ``lute-exec`` takes them out before parsing and
hands them over as ``args.after_dashes``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from typing import Any, Optional

from lute.execution.cli._common import command_line, error, positive_int, print_json, slurm_job
from lute.execution.cli._status import failed, show_rows
from lute.execution.cli._where import add_database_options, open_submitted
from lute.execution.outcome import EXIT_USAGE

__all__ = ["add_resubmit", "add_submit", "resubmit", "submit"]

_SUBMIT_EXAMPLES = """\
examples:
  lute-exec submit -c config.yaml -t Tester                      one job
  lute-exec submit -c config.yaml -t Tester --runs 12-40,45 --max-parallel 4
  lute-exec submit -c config.yaml -t Tester --sweep Test.float_var=0.1,0.2,0.5
  lute-exec submit -c config.yaml -t Tester --zip Test.float_var=0.1,0.2 --zip Test.str_var=a,b
  lute-exec submit -c config.yaml -t MPITester -- --partition=milano --time=30
  lute-exec submit -c config.yaml -t Tester --runs 1-100 --dry-run  print the scripts only

Every run and sweep point is validated as `lute-exec run` validates a config (all
problems at once) before anything is queued; each gets a QUEUED execution in the
database, which its array task claims when it starts. sbatch options come, lowest first,
from the facility's file (LUTE_SLURM_DEFAULTS), the managed task's definition, the
config's `slurm:` block and the command line. The job ids are printed on stdout, one per
line. See docs/slurm.md.
"""

_RESUBMIT_EXAMPLES = """\
examples:
  lute-exec resubmit 4242 -w ./lute-work          what did not complete in job 4242's submission
  lute-exec resubmit --submission 3 -w ./lute-work -- --time=2:00:00
  lute-exec resubmit 4242 -w ./lute-work --dry-run
  lute-exec resubmit 4242 Test.float_var=0.5 -w ./lute-work   with a value fixed

Runs again, as one new array, every run or point whose newest attempt ended FAILED,
TIMEDOUT, CANCELLED or LOST (decided from the database after reconciling it with SLURM),
with the config as it is now and the original overrides and sbatch options. Overrides
and options given here come after those, so they win, and later resubmissions keep
them. The new submission is linked to the one it resubmits.
"""


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-parallel",
        type=positive_int,
        metavar="N",
        help="at most N array tasks at once (the array's %%N)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the batch script(s); queue and write nothing",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_submit(sub: Any) -> None:
    """Add ``submit`` to the subcommands."""
    parser = sub.add_parser(
        "submit",
        help="submit a managed task to SLURM (runs, sweeps: one job array)",
        description="Validate the config for every run and sweep point, queue their "
        "executions, write a batch script into the work directory and submit it with sbatch.",
        usage="lute-exec submit [-h] [-c CONFIG] -t MANAGED_TASK [--runs RUNS] "
        "[--sweep Task.param=V1,V2,...] [--zip Task.param=V1,V2,...] [--max-parallel N] "
        "[--dry-run] [--json] [Task.param=value ...] [-- SBATCH_OPTIONS ...]",
        epilog=_SUBMIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-c", "--config", help="YAML config (default: $LUTE_CONFIGPATH)")
    parser.add_argument(
        "-t",
        "--taskname",
        "--task",
        dest="managed_task",
        required=True,
        help="managed task to submit (see `lute-exec list`)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="Task.param=value",
        help="parameter overrides for every run and point",
    )
    parser.add_argument(
        "--runs",
        metavar="RUNS",
        help="one array task per run: 12-40,45 or 1-99:2 (sets run=N; {{ run }} follows)",
    )
    parser.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="Task.param=V1,V2,...",
        help="one array task per value; repeated: every combination",
    )
    parser.add_argument(
        "--zip",
        action="append",
        default=[],
        metavar="Task.param=V1,V2,...",
        help="lists taken side by side (all as long): one array task per position",
    )
    _common_arguments(parser)


def add_resubmit(sub: Any) -> None:
    """Add ``resubmit`` to the subcommands."""
    parser = sub.add_parser(
        "resubmit",
        help="submit again what did not complete",
        description="Submit again, as one new job array, the runs and points of a "
        "submission that did not complete.",
        usage="lute-exec resubmit [-h] (JOB | --submission N) [Task.param=value ...] "
        "[-w WORK_DIR | --db DB_PATH | -c CONFIG] [--max-parallel N] [--dry-run] [--json] "
        "[-- SBATCH_OPTIONS ...]",
        epilog=_RESUBMIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job", nargs="?", metavar="JOB", help="a job id of the submission")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="Task.param=value",
        help="overrides added after the submission's own (they win)",
    )
    parser.add_argument("--submission", type=int, metavar="N", help="the submission")
    add_database_options(parser)
    _common_arguments(parser)


def _failed(failure: Exception) -> Optional[int]:
    """The exit code for the expected failures (their text printed), else ``None``."""
    from lute.execution.environments import EnvironmentError_
    from lute.execution.slurm import SlurmError, SubmitError

    if isinstance(failure, SubmitError):
        sys.stderr.write("lute-exec: error: %s\n" % failure)
        return EXIT_USAGE
    if isinstance(failure, SlurmError):
        return error("%s; nothing was submitted" % failure)
    if isinstance(failure, EnvironmentError_):
        return error(str(failure))
    return failed(failure)


def _report(done: Any, args: argparse.Namespace, what: str) -> int:
    if args.dry_run:
        for number, (path, text) in enumerate(done.scripts):
            if len(done.scripts) > 1:
                print("# ---- script %d of %d (%s) ----" % (number + 1, len(done.scripts), path))
            sys.stdout.write(text)
        sys.stderr.write(
            "lute-exec: dry run of %s: nothing queued or submitted (execution ids show as "
            "QUEUED_ID)\n" % what
        )
        return 0
    if args.json:
        print_json(
            {
                "submission": done.submission_id,
                "jobs": done.job_ids,
                "executions": done.execution_ids,
                "scripts": [path for path, _text in done.scripts],
                "db_path": done.db_path,
            }
        )
    else:
        for job in done.job_ids:
            print(job)
    work = os.path.dirname(done.directory)
    sys.stderr.write(
        "lute-exec: submitted %s as job%s %s (submission %d); logs in %s; follow with: "
        "lute-exec status %s -w %s\n"
        % (
            what,
            "" if len(done.job_ids) == 1 else "s",
            " ".join(done.job_ids),
            done.submission_id,
            done.directory,
            done.job_ids[0],
            shlex.quote(work),
        )
    )
    return 0


def _describe(prepared: Any) -> str:
    count = len(prepared.planned)
    return "%s, %d execution%s" % (prepared.definition.name, count, "" if count == 1 else "s")


def submit(args: argparse.Namespace) -> int:
    """Submit the managed task; print the job id(s)."""
    from lute.execution.slurm import SubmitRequest, dry_run, prepare
    from lute.execution.slurm import submit as sbatch
    from lute.settings import CONFIGPATH

    config = args.config or CONFIGPATH.get()
    if not config:
        return error("no config file: pass one (-c CONFIG) or set %s" % CONFIGPATH.name)
    request = SubmitRequest(
        os.path.abspath(config),
        args.managed_task,
        args.overrides,
        runs=args.runs,
        sweeps=args.sweep,
        zips=args.zip,
        max_parallel=args.max_parallel,
        sbatch=getattr(args, "after_dashes", []),
        command=command_line(),
    )
    try:
        prepared = prepare(request)
        done = dry_run(prepared) if args.dry_run else sbatch(prepared)
    except Exception as failure:
        code = _failed(failure)
        if code is None:
            raise
        return code
    return _report(done, args, _describe(prepared))


def resubmit(args: argparse.Namespace) -> int:
    """Submit again what did not complete."""
    from lute.execution.slurm import dry_run, plan_resubmission
    from lute.execution.slurm import submit as sbatch

    job: Optional[str] = args.job
    if job is not None and "=" in job:  # --submission N Task.param=value
        args.overrides.insert(0, job)
        job = None
    if (job is None) == (args.submission is None):
        return error("say what to resubmit: a JOB id of the submission, or --submission N")
    if job is not None:
        try:
            slurm_job(job)
        except argparse.ArgumentTypeError as wrong:
            return error(str(wrong))
    try:
        with open_submitted(args, what="nothing", write=not args.dry_run) as db:
            submission = args.submission
            if job is not None:
                found = db.executions(slurm_job_id=job.partition("_")[0], limit=1)
                if not found or found[0].submission_id is None:
                    return error("no submitted execution has job id %s" % job)
                submission = found[0].submission_id
            rerun = plan_resubmission(
                db,
                submission,
                overrides=args.overrides,
                sbatch=getattr(args, "after_dashes", []),
                max_parallel=args.max_parallel,
                command=command_line(),
                record=not args.dry_run,
            )
        if rerun.prepared is None:
            left = len(rerun.unfinished)
            sys.stderr.write(
                "lute-exec: nothing to resubmit: %d of %d completed%s\n"
                % (
                    len(rerun.rows) - left,
                    len(rerun.rows),
                    "" if not left else ", %d still queued or running" % left,
                )
            )
            return 0
        if not args.json:  # stdout is for the job ids
            with contextlib.redirect_stdout(sys.stderr):
                show_rows(rerun.rerun, os.path.dirname(rerun.prepared.db_path))
        if args.dry_run:
            done = dry_run(rerun.prepared)
        else:
            done = sbatch(rerun.prepared, resubmission_of=rerun.resubmission_of)
    except Exception as failure:
        code = _failed(failure)
        if code is None:
            raise
        return code
    if rerun.unfinished:
        sys.stderr.write(
            "lute-exec: %d still queued or running, left alone\n" % len(rerun.unfinished)
        )
    return _report(done, args, "again " + _describe(rerun.prepared))
