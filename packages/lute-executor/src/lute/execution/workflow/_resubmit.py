"""Cancelling a workflow, and running again what did not complete.

What to run again is decided from the database, never from SLURM (which treats a
dependency on a job it has forgotten as met): after reconciling, every execution that
did not complete, and everything that follows it -- the same run's executions of a
run-dependent node, all of a node that runs once (a merge). The completed executions
are kept: the resubmission, a new workflow linked to the original, links them too, and
its nodes depend on nothing they already gave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from lute._records import Record
from lute.execution.workflow._errors import WorkflowError
from lute.execution.workflow._status import WorkflowStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.slurm import CancelResult, Point, SlurmClient
    from lute.io.db import Database, ExecutionRecord

__all__ = ["Resubmission", "cancel_workflow", "plan_workflow_resubmission"]


def cancel_workflow(
    db: Database, workflow_id: int, *, client: Optional[SlurmClient] = None
) -> CancelResult:
    """scancel every unfinished job of the workflow; record it.

    Executions that had not started are CANCELLED at once; running ones receive SLURM's
    SIGTERM and record their end themselves.

    Raises:
        lute.execution.slurm.SlurmError: scancel failed.
        lute.io.db.DatabaseError: No such workflow.
    """
    from lute.execution.slurm import cancel

    records = [record for _node, record in db.workflow_executions(workflow_id)]
    result = cancel(db, records, client=client)
    db.mark_workflow_cancelled(workflow_id)
    return result


class Resubmission(Record):
    """What a resubmission runs again and what it keeps.

    Attributes:
        points: Node -> the points it runs again (only nodes with some).
        kept: Node -> its completed executions, kept as they are.
        reasons: Node -> ``(run, status)`` of each execution that did not complete.
    """

    _FIELDS = ("points", "kept", "reasons")
    __slots__ = _FIELDS

    def __init__(
        self,
        points: Dict[str, List[Point]],
        kept: Dict[str, List[ExecutionRecord]],
        reasons: Dict[str, List[Tuple[Optional[str], str]]],
    ) -> None:
        self.points = points
        self.kept = kept
        self.reasons = reasons


def plan_workflow_resubmission(db: Database, state: WorkflowStatus) -> Resubmission:
    """What to run again, from a reconciled status.

    Raises:
        WorkflowError: Nothing to run again (every execution completed), or executions
            still pending or running (cancel them, or wait).
    """
    going = [cell for cell in state.cells if cell.shown in ("pending", "running")]
    if going:
        raise WorkflowError(
            "workflow %d is still going: %d execution%s pending or running; wait, or "
            "`lute-exec workflow cancel %d` first"
            % (state.workflow.id, len(going), "" if len(going) == 1 else "s", state.workflow.id)
        )
    nodes = {node.node: node for node in state.nodes}
    children: Dict[str, List[str]] = {name: [] for name in nodes}
    for node in state.nodes:
        for parent in node.parents:
            children.setdefault(parent, []).append(node.node)
    again: Set[Tuple[str, Optional[str]]] = set()  # (node, run) ; run None: every run
    reasons: Dict[str, List[Tuple[Optional[str], str]]] = {}
    for cell in state.cells:
        if cell.shown != "completed":
            reasons.setdefault(cell.node, []).append((cell.execution.run, cell.shown))
            again.add((cell.node, cell.execution.run if nodes[cell.node].run_dependent else None))
    if not again:
        raise WorkflowError(
            "every execution of workflow %d completed: nothing to run again" % state.workflow.id
        )
    stack = list(again)
    while stack:  # what follows a run again is run again: the same run's, or all of it
        name, run = stack.pop()
        for child in children.get(name, []):
            key = (child, run if nodes[child].run_dependent and nodes[name].run_dependent else None)
            if key not in again:
                again.add(key)
                stack.append(key)
    from lute.execution.slurm import SubmissionPoints, recorded_point

    points: Dict[str, List[Point]] = {}
    kept: Dict[str, List[ExecutionRecord]] = {}
    recorded = SubmissionPoints(db)
    for cell in state.cells:
        chosen = (cell.node, None) in again or (cell.node, cell.execution.run) in again
        if not chosen:
            kept.setdefault(cell.node, []).append(cell.execution)
            continue
        if cell.execution.submission_id is None:
            raise WorkflowError("execution %d belongs to no submission" % cell.execution.id)
        found = recorded.point(cell.execution)
        if found is None:
            raise WorkflowError(
                "the submission of execution %d does not say which point it ran" % cell.execution.id
            )
        label, overrides = found
        node_points = points.setdefault(cell.node, [])  # positions in the node's new array
        node_points.append(recorded_point(len(node_points), label, overrides))
    return Resubmission(points, kept, reasons)
