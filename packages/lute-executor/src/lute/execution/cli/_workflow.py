"""``lute-exec workflow``: submit a DAG of managed tasks to SLURM, see where it stands,
cancel it, run again what did not complete.

``submit`` and ``resubmit`` take sbatch options after ``--`` (``args.after_dashes``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lute.execution.cli._common import command_line, error, positive_int, print_json, print_table
from lute.execution.cli._where import (
    WhereError,
    add_database_options,
    local_time,
    open_submitted,
)
from lute.execution.outcome import EXIT_USAGE

__all__ = ["add_parser", "run"]

_EXAMPLES = """\
examples:
  lute-exec workflow submit dag.yaml -c config.yaml                  the config's run
  lute-exec workflow submit dag.yaml -c config.yaml --runs 12-40 --max-parallel 8
  lute-exec workflow submit dag.yaml -c config.yaml --dry-run        scripts and graph only
  lute-exec workflow submit dag.yaml -c config.yaml -- --partition=milano --time=1:00:00
  lute-exec workflow status -c config.yaml                           the newest workflow
  lute-exec workflow status 3 -w ./lute-work --json
  lute-exec workflow list -w ./lute-work
  lute-exec workflow cancel 3 -w ./lute-work
  lute-exec workflow resubmit 3 -w ./lute-work                       what did not complete

Each node is one SLURM job (one job array for many runs or a sweep), wired to its
parents with --dependency from its trigger rule and --kill-on-invalid-dep=yes: SLURM
does the scheduling. Everything is checked before anything is queued. See
docs/workflows.md.
"""


def _workflow_id(parser: argparse.ArgumentParser, *, needed: bool) -> None:
    parser.add_argument(
        "workflow_id",
        type=int,
        nargs=None if needed else "?",
        metavar="ID",
        help="the workflow (see `workflow list`)" + ("" if needed else "; default: the newest"),
    )


def add_parser(sub: Any) -> None:
    """Add ``workflow submit|status|list|cancel|resubmit`` to the subcommands."""
    workflow = sub.add_parser(
        "workflow",
        help="submit a DAG of managed tasks to SLURM; its status",
        description="Workflows: DAGs of managed tasks run by SLURM's own dependencies, "
        "for one run or many.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = workflow.add_subparsers(dest="action", metavar="ACTION", required=True)
    submit = actions.add_parser(
        "submit",
        help="check a DAG file's every node, then submit it",
        description="Check every node of the workflow (managed task, config, parameters "
        "for every run and sweep point, environment, sbatch options, scripts), report "
        "every problem with its line, and only then queue and submit every node, wired "
        "by SLURM dependencies. Prints the workflow id.",
        usage="lute-exec workflow submit [-h] DAG [-c CONFIG] [--runs RUNS] "
        "[--max-parallel N] [--dry-run] [--json] [Task.param=value ...] "
        "[-- SBATCH_OPTIONS ...]",
    )
    submit.add_argument("dag", metavar="DAG", help="the DAG file (YAML)")
    submit.add_argument("-c", "--config", help="YAML config (default: $LUTE_CONFIGPATH)")
    submit.add_argument(
        "overrides", nargs="*", metavar="Task.param=value", help="overrides for every node"
    )
    submit.add_argument(
        "--runs", metavar="RUNS", help="run-dependent nodes run once per run: 12-40,45"
    )
    submit.add_argument(
        "--max-parallel",
        type=positive_int,
        metavar="N",
        help="at most N array tasks of a node at once",
    )
    submit.add_argument(
        "--dry-run", action="store_true", help="print every script and the dependency graph"
    )
    submit.add_argument("--json", action="store_true", help="machine-readable output")
    status = actions.add_parser(
        "status",
        help="where a workflow stands, reconciled with SLURM",
        description="Every node's executions: one row per run, one column per node (nodes "
        "that run once below). SLURM's view is compared with the database and what it "
        "decides is recorded (a node whose rule can no longer hold: upstream failed).",
    )
    _workflow_id(status, needed=False)
    add_database_options(status)
    status.add_argument(
        "--no-record", action="store_true", help="show what reconciling decides, record nothing"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    listing = actions.add_parser("list", help="workflows, newest first")
    add_database_options(listing)
    listing.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    cancel = actions.add_parser(
        "cancel",
        help="scancel every unfinished job of a workflow",
        description="Cancel every job of the workflow that has not ended; executions that "
        "had not started are recorded CANCELLED, running ones record their end.",
    )
    _workflow_id(cancel, needed=True)
    add_database_options(cancel)
    cancel.add_argument("--json", action="store_true", help="machine-readable output")
    resubmit = actions.add_parser(
        "resubmit",
        help="run again what did not complete, and what follows it",
        description="A new workflow, linked to this one: every execution that did not "
        "complete and everything that follows it (the same run's, or all of a node that "
        "runs once) runs again; completed executions are kept. Overrides given here, and "
        "options after --, come after the workflow's own (they win).",
        usage="lute-exec workflow resubmit [-h] ID [Task.param=value ...] "
        "[-w DIR | --db FILE | -c CONFIG] [--dry-run] [--json] [-- SBATCH_OPTIONS ...]",
    )
    _workflow_id(resubmit, needed=True)
    resubmit.add_argument(
        "overrides",
        nargs="*",
        metavar="Task.param=value",
        help="overrides for every node, after the workflow's own (they win)",
    )
    add_database_options(resubmit)
    resubmit.add_argument(
        "--dry-run", action="store_true", help="print every script and the dependency graph"
    )
    resubmit.add_argument("--json", action="store_true", help="machine-readable output")


def _failed(failure: Exception) -> Optional[int]:
    """The exit code of an expected failure (its text printed), else ``None``."""
    from lute.execution.cli._status import failed
    from lute.execution.environments import EnvironmentError_
    from lute.execution.workflow import WorkflowError

    if isinstance(failure, WorkflowError):
        sys.stderr.write("lute-exec: error: %s\n" % failure)
        return EXIT_USAGE
    if isinstance(failure, (WhereError, EnvironmentError_)):
        return error(str(failure))
    return failed(failure)


def _guarded(action: Any, *args: Any) -> Tuple[Optional[int], Any]:
    """``(None, result)``, or ``(exit code, None)`` after an expected failure."""
    try:
        return None, action(*args)
    except Exception as failure:
        code = _failed(failure)
        if code is None:
            raise
        return code, None


def run(args: argparse.Namespace) -> int:
    """Run the ``workflow`` action asked for."""
    passed_on = getattr(args, "after_dashes", [])
    if passed_on and args.action not in ("submit", "resubmit"):
        return error("sbatch options after -- are for `workflow submit` and `workflow resubmit`")
    actions = {
        "submit": _submit,
        "status": _status,
        "list": _list,
        "cancel": _cancel,
        "resubmit": _resubmit,
    }
    code, done = _guarded(actions[args.action], args)
    return code if code is not None else int(done)


def _submit(args: argparse.Namespace) -> int:
    from lute.execution.workflow import WorkflowRequest, dry_run_workflow, plan_workflow
    from lute.execution.workflow import submit_workflow as sbatch
    from lute.settings import CONFIGPATH

    config = args.config or CONFIGPATH.get()
    if not config:
        return error("no config file: pass one (-c CONFIG) or set %s" % CONFIGPATH.name)
    request = WorkflowRequest(
        args.dag,
        os.path.abspath(config),
        runs=args.runs,
        overrides=args.overrides,
        sbatch=getattr(args, "after_dashes", []),
        max_parallel=args.max_parallel,
        command=command_line(),
    )
    plan = plan_workflow(request)
    done = dry_run_workflow(plan) if args.dry_run else sbatch(plan)
    return _report(plan, done, args, "workflow %s" % plan.dag.name)


def _report(plan: Any, done: Any, args: argparse.Namespace, what: str) -> int:
    from lute.execution.workflow import graph_lines

    graph = graph_lines(plan, done)
    if args.dry_run:
        for number, (path, text) in enumerate(done.scripts):
            print("# ---- script %d of %d (%s) ----" % (number + 1, len(done.scripts), path))
            sys.stdout.write(text)
        print("# ---- dependency graph of %s ----" % what)
        print("\n".join(graph))
        sys.stderr.write(
            "lute-exec: dry run of %s: nothing queued or submitted (job ids show as <node>, "
            "execution ids as QUEUED_ID)\n" % what
        )
        return 0
    if args.json:
        print_json(
            {
                "workflow": done.workflow_id,
                "jobs": done.jobs,
                "executions": done.executions,
                "dependencies": {name: value for name, (value, _w) in done.dependencies.items()},
                "scripts": [path for path, _text in done.scripts],
                "db_path": done.db_path,
            }
        )
    else:
        print(done.workflow_id)
    count = sum(len(ids) for ids in done.executions.values())
    sys.stderr.write(
        "lute-exec: submitted %s as workflow %d: %d node%s, %d execution%s\n%s\n"
        "lute-exec: see where it stands with: lute-exec workflow status %d --db %s\n"
        % (
            what,
            done.workflow_id,
            len(done.jobs),
            "" if len(done.jobs) == 1 else "s",
            count,
            "" if count == 1 else "s",
            "\n".join(graph),
            done.workflow_id,
            shlex.quote(done.db_path),
        )
    )
    return 0


def _chosen(db: Any, args: argparse.Namespace) -> int:
    from lute.io.db import DatabaseError

    if args.workflow_id is not None:
        return int(args.workflow_id)
    newest = db.workflows(limit=1)
    if not newest:
        raise DatabaseError("no workflow in %s" % db.path)
    return int(newest[0].id)


def _status(args: argparse.Namespace) -> int:
    from lute.execution.workflow import workflow_status

    with open_submitted(args, what="no workflow", write=not args.no_record) as db:
        state = workflow_status(db, _chosen(db, args), record=not args.no_record)
    if state.warning is not None:
        error(state.warning, 0)
    if args.json:
        print_json(state.to_dict())
    else:
        show_status(state)
    return 0


def _cell_text(cells: Sequence[Any]) -> str:
    """One run of one node: its status, or a count per status (a sweep's points)."""
    if not cells:
        return "-"
    if len(cells) == 1:
        return str(cells[0].shown)
    from lute.execution.workflow import shown_counts

    return _counted(shown_counts(cells))


def _counted(counts: Dict[str, int]) -> str:
    """``2 completed, 1 failed``."""
    return ", ".join("%d %s" % (n, shown) for shown, n in sorted(counts.items()))


def show_status(state: Any) -> None:
    """The workflow's table: a row per run, a column per run-dependent node; nodes that
    run once below; then what this look changed, and a count per status."""
    workflow = state.workflow
    print(
        "workflow %d %s: submitted %s by %s on %s%s"
        % (
            workflow.id,
            workflow.name,
            local_time(workflow.created),
            workflow.user or "?",
            workflow.host or "?",
            ""
            if workflow.resubmission_of is None
            else " (resubmits workflow %d)" % workflow.resubmission_of,
        )
    )
    per_run = [node.node for node in state.nodes if node.run_dependent]
    once = [node.node for node in state.nodes if not node.run_dependent]
    grid: Dict[Tuple[str, str], List[Any]] = {}
    runs: List[str] = []
    for cell in state.cells:
        run = "" if cell.execution.run is None else str(cell.execution.run)
        if cell.node in per_run and run not in runs:
            runs.append(run)
        grid.setdefault((cell.node, run), []).append(cell)
    if per_run:
        print_table(
            ("RUN", *per_run),
            [(run, *(_cell_text(grid.get((n, run), [])) for n in per_run)) for run in runs],
        )
    for name in once:
        cells = [cell for cell in state.cells if cell.node == name]
        jobs = sorted({cell.job for cell in cells if cell.job})
        print(
            "%s (once): %s%s" % (name, _cell_text(cells), "  job " + " ".join(jobs) if jobs else "")
        )
    for cell in state.cells:
        if cell.change is not None:
            print("execution %d (%s): %s -> %s: %s" % (cell.execution.id, cell.node, *cell.change))
    counts = state.counts()
    total = len(state.cells)
    print(
        "%d execution%s: %s%s"
        % (
            total,
            "" if total == 1 else "s",
            _counted(counts) or "none",
            "; finished" if state.finished else "; going on",
        )
    )
    if workflow.cancelled:
        print("cancelled %s" % local_time(workflow.cancelled))
    for later in state.resubmissions:
        print("resubmitted as workflow %d" % later)


def _list(args: argparse.Namespace) -> int:
    with open_submitted(args, what="no workflow", write=False) as db:
        found = db.workflows(limit=args.limit)
    if args.json:
        print_json([record.to_dict() for record in found])
        return 0
    print_table(
        ("ID", "NAME", "SUBMITTED", "BY", "RESUBMITS", "CANCELLED", "DAG"),
        [
            (
                str(record.id),
                record.name,
                local_time(record.created),
                record.user or "",
                "" if record.resubmission_of is None else str(record.resubmission_of),
                local_time(record.cancelled),
                record.dag_path or "",
            )
            for record in found
        ],
    )
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from lute.execution.workflow import cancel_workflow

    with open_submitted(args, what="no workflow", write=True) as db:
        done = cancel_workflow(db, args.workflow_id)  # no such workflow: an error naming it
    if done.warning:
        error(done.warning, 0)
    if args.json:
        print_json(done.to_dict())
        return 0
    print(
        "workflow %d: scancel %s: %d not started (recorded CANCELLED), %d running (they "
        "record their end), %d ended already"
        % (
            args.workflow_id,
            " ".join(done.targets) or "(nothing left to cancel)",
            len(done.cancelled),
            len(done.stopping),
            len(done.finished),
        )
    )
    return 0


def _resubmit(args: argparse.Namespace) -> int:
    from lute.execution.slurm import overrides_after
    from lute.execution.workflow import (
        WorkflowError,
        WorkflowRequest,
        dry_run_workflow,
        load_dag,
        plan_workflow,
        plan_workflow_resubmission,
        workflow_status,
    )
    from lute.execution.workflow import submit_workflow as sbatch
    from lute.io.config import ConfigError

    with open_submitted(args, what="no workflow", write=not args.dry_run) as db:
        state = workflow_status(db, args.workflow_id, record=not args.dry_run)
        again = plan_workflow_resubmission(db, state)
    workflow = state.workflow
    if not workflow.dag_path or not workflow.config_path:
        raise WorkflowError("workflow %d does not record its DAG file and config" % workflow.id)
    request = WorkflowRequest.from_description(
        workflow.dag_path, workflow.config_path, workflow.description, command_line()
    )
    request.sbatch.extend(getattr(args, "after_dashes", []))
    request.overrides = overrides_after(request.overrides, args.overrides)
    try:
        dag = load_dag(workflow.dag_path)
    except ConfigError as failure:
        raise WorkflowError(
            "the DAG file of workflow %d no longer reads" % workflow.id,
            [str(problem) for problem in failure.problems],
        ) from None
    missing = sorted(set(again.points) - set(dag.nodes))
    if missing:
        raise WorkflowError(
            "%s no longer has the node%s %s that workflow %d ran"
            % (workflow.dag_path, "" if len(missing) == 1 else "s", ", ".join(missing), workflow.id)
        )
    for node, ended in again.reasons.items():
        shown = ", ".join(
            "run %s %s" % (run, how) if run is not None else how for run, how in ended
        )
        sys.stderr.write("lute-exec: %s: %s\n" % (node, shown))
    plan = plan_workflow(request, dag=dag, only=again.points)
    if args.dry_run:
        done = dry_run_workflow(plan)
    else:
        done = sbatch(plan, resubmission_of=workflow.id, kept=again.kept)
    return _report(plan, done, args, "again workflow %d (%s)" % (workflow.id, dag.name))
