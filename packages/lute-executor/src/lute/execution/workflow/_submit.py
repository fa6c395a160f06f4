"""Submitting a checked workflow: every node's jobs, wired by SLURM dependencies.

Nodes are submitted parents first, each with ``--dependency`` from its trigger rule
(:mod:`._dependencies`), ``--kill-on-invalid-dep=yes`` and ``--hold``; once every job
is in, one ``scontrol release`` lets them all go. So no job starts before the whole
workflow is queued and recorded, and a parent that ends at once cannot make its child's
``sbatch`` fail. The workflow, its nodes and every execution with the executions it
follows are recorded as they are queued. If anything fails (an ``sbatch``, the
database), every job submitted is cancelled and everything recorded deleted: the
workflow is queued whole or not at all.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.workflow._plan import WORKFLOW_OPTIONS, NodePlan, WorkflowPlan

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.slurm import SlurmClient
    from lute.io.db import Database, ExecutionRecord

__all__ = ["WorkflowSubmission", "dry_run_workflow", "graph_lines", "submit_workflow"]

_SOURCE = "lute-exec workflow submit (the trigger rule %s)"


class WorkflowSubmission(Record):
    """What was submitted (or, for a dry run, would be).

    Attributes:
        workflow_id: The workflow's id in the database (``None``: dry run).
        jobs: Node -> its job ids (placeholders ``<node>`` in a dry run).
        executions: Node -> the executions it queued (empty in a dry run).
        dependencies: Node -> ``(--dependency value or None, in words)``.
        scripts: ``(path, text)`` of every batch script, in submission order.
        db_path: The results database.
    """

    _FIELDS = ("workflow_id", "jobs", "executions", "dependencies", "scripts", "db_path")
    __slots__ = _FIELDS

    def __init__(
        self,
        workflow_id: Optional[int],
        jobs: Dict[str, List[str]],
        executions: Dict[str, List[int]],
        dependencies: Dict[str, Tuple[Optional[str], str]],
        scripts: List[Tuple[str, str]],
        db_path: str,
    ) -> None:
        self.workflow_id = workflow_id
        self.jobs = jobs
        self.executions = executions
        self.dependencies = dependencies
        self.scripts = scripts
        self.db_path = db_path


def _wire(plan: NodePlan, value: Optional[str], words: str) -> None:
    """Set the workflow's options on every point of the node (the scripts take them)."""
    from lute.execution.slurm import Option

    source = _SOURCE % plan.node.trigger
    for point in plan.points:
        options = point.options
        for name in WORKFLOW_OPTIONS:
            options.pop(name, None)
        if value is not None:
            options["dependency"] = Option("dependency", value, "%s: %s" % (source, words))
            options["kill-on-invalid-dep"] = Option("kill-on-invalid-dep", "yes", source)
        options["hold"] = Option("hold", None, "lute-exec workflow submit (released at the end)")


def graph_lines(plan: WorkflowPlan, submission: WorkflowSubmission) -> List[str]:
    """The dependency graph in words: one line per node."""
    width = max(len(name) for name in plan.dag.nodes)
    lines = []
    for name in plan.dag.order():
        if name not in plan.nodes:
            lines.append("  %-*s  kept: it completed" % (width, name))
            continue
        count = len(plan.nodes[name].points)
        value, words = submission.dependencies[name]
        shown = "" if value is None else "--dependency=%s  " % value
        lines.append(
            "  %-*s  %d execution%s  %s%s"
            % (width, name, count, "" if count == 1 else "s", shown, words)
        )
    return lines


def dry_run_workflow(plan: WorkflowPlan) -> WorkflowSubmission:
    """The scripts a submission would write (dependencies on placeholder job ids)."""
    from lute.execution.slurm import dry_run

    jobs: Dict[str, List[str]] = {}
    dependencies: Dict[str, Tuple[Optional[str], str]] = {}
    scripts: List[Tuple[str, str]] = []
    for name, node_plan in plan.nodes.items():
        dependencies[name] = plan.dependency(name, jobs)
        _wire(node_plan, *dependencies[name])
        jobs[name] = []
        for prepared in node_plan.prepared:
            done = dry_run(prepared)
            scripts.extend(done.scripts)
            jobs[name].extend("<%s>" % name for _ in done.scripts)
        jobs[name] = list(dict.fromkeys(jobs[name]))
    return WorkflowSubmission(None, jobs, {}, dependencies, scripts, plan.db_path)


def _parents_of(
    plan: WorkflowPlan,
    name: str,
    queued: Dict[str, List[Tuple[int, Optional[str]]]],
    child: Sequence[Tuple[int, Optional[str]]],
) -> Dict[int, List[int]]:
    """Each execution of ``name`` -> the executions it follows: the same run's of a
    run-dependent parent (for a run-dependent node), else all of the parent's."""
    node = plan.dag.nodes[name]
    links: Dict[int, List[int]] = {}
    for execution_id, run in child:
        above: List[int] = []
        for parent in node.parents:
            rows = queued.get(parent, [])
            same_run = node.run_dependent and plan.dag.nodes[parent].run_dependent
            if same_run and run is not None:
                rows = [row for row in rows if row[1] == run]
            above.extend(row[0] for row in rows)
        links[execution_id] = above
    return links


def submit_workflow(
    plan: WorkflowPlan,
    *,
    client: Optional[SlurmClient] = None,
    resubmission_of: Optional[int] = None,
    kept: Optional[Dict[str, List[ExecutionRecord]]] = None,
) -> WorkflowSubmission:
    """Queue and submit every node, then release the jobs; all of it, or nothing.

    Args:
        plan: The checked workflow.
        client: The SLURM commands.
        resubmission_of: The workflow this one runs again.
        kept: A resubmission's completed executions, by node, that it keeps.

    Raises:
        lute.execution.slurm.SlurmError: sbatch or scontrol failed (everything
            submitted is cancelled, everything recorded deleted).
        lute.io.db.DatabaseError: The database cannot be written (the same).
    """
    from lute.execution.slurm import SlurmClient, submit
    from lute.io.db import Database

    client = client or SlurmClient()
    request = plan.request
    kept = kept or {}
    os.makedirs(os.path.dirname(plan.db_path), exist_ok=True)  # as `lute-exec run` does
    with Database(plan.db_path) as db:
        workflow_id = db.create_workflow(
            plan.dag.name,
            dag_path=plan.dag.path,
            config_path=request.config,
            command=request.command,
            description=request.description(),
            resubmission_of=resubmission_of,
        )
        jobs: Dict[str, List[str]] = {}
        executions: Dict[str, List[int]] = {}
        dependencies: Dict[str, Tuple[Optional[str], str]] = {}
        scripts: List[Tuple[str, str]] = []
        submissions: List[int] = []
        queued: Dict[str, List[Tuple[int, Optional[str]]]] = {
            name: [(record.id, record.run) for record in records] for name, records in kept.items()
        }
        try:
            for position, name in enumerate(plan.dag.order()):
                node = plan.dag.nodes[name]
                node_plan = plan.nodes.get(name)
                if node_plan is not None:
                    dependencies[name] = plan.dependency(name, jobs)
                    _wire(node_plan, *dependencies[name])
                db.add_workflow_node(
                    workflow_id,
                    name,
                    position=position,
                    managed_task=node.managed_task,
                    trigger_rule=node.trigger,
                    parents=node.parents,
                    run_dependent=node.run_dependent,
                    dependency=dependencies.get(name, (None, ""))[0],
                )
                kept_rows = queued.get(name, [])
                if kept_rows:  # a resubmission's completed executions, kept as they ended
                    db.link_workflow_executions(
                        workflow_id, name, {row[0]: [] for row in kept_rows}
                    )
                if node_plan is None:
                    continue
                jobs[name], executions[name] = [], []
                rows: List[Tuple[int, Optional[str]]] = []
                for prepared in node_plan.prepared:
                    done = submit(prepared, client=client)
                    assert done.submission_id is not None
                    submissions.append(done.submission_id)
                    jobs[name].extend(done.job_ids)
                    executions[name].extend(done.execution_ids)
                    scripts.extend(done.scripts)
                    runs = [point.point.run for point in prepared.planned]
                    rows.extend(zip(done.execution_ids, runs))
                links = _parents_of(plan, name, queued, rows)
                queued[name] = [*kept_rows, *rows]
                db.link_workflow_executions(workflow_id, name, links)
            client.release([job for ids in jobs.values() for job in ids])
        except BaseException:
            _undo(db, client, workflow_id, jobs, submissions, scripts)
            raise
    return WorkflowSubmission(workflow_id, jobs, executions, dependencies, scripts, plan.db_path)


def _undo(
    db: Database,
    client: SlurmClient,
    workflow_id: int,
    jobs: Dict[str, List[str]],
    submissions: Sequence[int],
    scripts: Sequence[Tuple[str, str]],
) -> None:
    """After a failure: cancel every job submitted, delete everything recorded."""
    from lute.execution.slurm import undo_submissions

    every_job = [job for ids in jobs.values() for job in ids]
    undo_submissions(db, client, submissions, every_job, scripts)
    db.discard_workflow(workflow_id)
