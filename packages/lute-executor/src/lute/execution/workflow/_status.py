"""Where a workflow stands: every node's executions, from the database and SLURM together.

Nodes are reconciled parents first, so that each node is judged on its parents' true
ends. An execution that never started because its rule can no longer hold (its SLURM
job was cancelled by ``--kill-on-invalid-dep``, or is pending on a dependency that can
never be met) is "upstream failed": recorded CANCELLED with the parents that decided
it, where SLURM no longer holds its job. The rest is reconciled as ``lute-exec status``
reconciles a submission (:func:`lute.execution.slurm.status`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from lute._records import Record

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.slurm import SlurmClient
    from lute.io.db import Database, ExecutionRecord, WorkflowNodeRecord, WorkflowRecord

__all__ = [
    "SHOWN",
    "UPSTREAM_FAILED",
    "WorkflowCell",
    "WorkflowStatus",
    "shown_counts",
    "workflow_status",
]

#: Recorded status -> how ``workflow status`` names it.
SHOWN = {
    "QUEUED": "pending",
    "PENDING": "running",
    "RUNNING": "running",
    "STOPPED": "running",
    "COMPLETED": "completed",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
    "TIMEDOUT": "timed out",
    "LOST": "lost",
}
UPSTREAM_FAILED = "upstream failed"


class WorkflowCell(Record):
    """One execution of a node, as the status shows it.

    Attributes:
        node: Its node.
        execution: The execution, as recorded after reconciling.
        shown: ``pending``, ``running``, ``completed``, ``failed``, ``cancelled``,
            ``timed out``, ``upstream failed`` or ``lost``.
        job: Its job (``4242_3``), ``""`` for none.
        point: Its sweep values (``Test.float_var=0.1``), ``""`` for none.
        log: Its SLURM log file, if it can be named.
        change: ``(old, new, why)`` when this look recorded a change.
    """

    _FIELDS = ("node", "execution", "shown", "job", "point", "log", "change")
    __slots__ = _FIELDS

    def __init__(
        self,
        node: str,
        execution: ExecutionRecord,
        shown: str,
        job: str,
        point: str,
        log: Optional[str],
        change: Optional[Tuple[str, str, str]],
    ) -> None:
        self.node = node
        self.execution = execution
        self.shown = shown
        self.job = job
        self.point = point
        self.log = log
        self.change = change

    def to_dict(self) -> Dict[str, Any]:
        record = self.execution
        return {
            "node": self.node,
            "run": record.run,
            "point": self.point,
            "status": self.shown,
            "recorded_status": str(record.status),
            "execution_id": record.id,
            "job": self.job,
            "log": self.log,
            "error": record.error,
            "change": None if self.change is None else list(self.change),
        }


class WorkflowStatus(Record):
    """A workflow, its nodes and every execution's status.

    Attributes:
        workflow: The workflow's record.
        nodes: Its nodes, in submission order.
        cells: Every execution, by node then array index.
        warning: Why SLURM's view is missing, if it is (the database alone is shown).
        resubmissions: The workflows that ran this one's unfinished part again.
    """

    _FIELDS = ("workflow", "nodes", "cells", "warning", "resubmissions")
    __slots__ = _FIELDS

    def __init__(
        self,
        workflow: WorkflowRecord,
        nodes: List[WorkflowNodeRecord],
        cells: List[WorkflowCell],
        warning: Optional[str],
        resubmissions: List[int],
    ) -> None:
        self.workflow = workflow
        self.nodes = nodes
        self.cells = cells
        self.warning = warning
        self.resubmissions = resubmissions

    def counts(self) -> Dict[str, int]:
        """How many executions show each status."""
        return shown_counts(self.cells)

    @property
    def finished(self) -> bool:
        """Whether no execution is pending or running any more."""
        return all(cell.shown not in ("pending", "running") for cell in self.cells)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "workflow": self.workflow.to_dict(),
            "nodes": [node.to_dict() for node in self.nodes],
            "counts": self.counts(),
            "finished": self.finished,
            "warning": self.warning,
            "resubmissions": self.resubmissions,
            "executions": [cell.to_dict() for cell in self.cells],
        }


def shown_counts(cells: Sequence[WorkflowCell]) -> Dict[str, int]:
    """How many of ``cells`` show each status."""
    found: Dict[str, int] = {}
    for cell in cells:
        found[cell.shown] = found.get(cell.shown, 0) + 1
    return found


def _shown(status: str, error: Optional[str], doomed: bool) -> str:
    """How the status names an execution of this status and error; ``doomed``: its
    rule can no longer hold."""
    if status == "QUEUED" and doomed:
        return UPSTREAM_FAILED
    if status == "CANCELLED" and (doomed or (error or "").startswith("upstream failed")):
        return UPSTREAM_FAILED
    return SHOWN.get(status, status.lower())


def _doomed(
    record: ExecutionRecord,
    rule: str,
    parents: Sequence[int],
    statuses: Dict[int, str],
) -> bool:
    from lute.io.db import trigger_verdict

    if record.status != "QUEUED":
        return False
    given = [statuses[parent] for parent in parents if parent in statuses]
    return trigger_verdict(rule, given) == "never"


def workflow_status(
    db: Database,
    workflow_id: int,
    *,
    client: Optional[SlurmClient] = None,
    record: bool = True,
) -> WorkflowStatus:
    """Reconcile every execution of the workflow with SLURM, parents first.

    Args:
        db: The results database.
        workflow_id: The workflow.
        client: The SLURM commands.
        record: Record what reconciling decides (``False``: only show it).

    Raises:
        lute.io.db.DatabaseError: No such workflow, or the database cannot be read.
    """
    from lute.execution.slurm import SlurmClient, record_change, status

    client = client or SlurmClient()
    workflow = db.workflow(workflow_id)
    nodes = db.workflow_nodes(workflow_id)
    linked = db.workflow_executions(workflow_id)
    parents = db.execution_parents(record.id for _node, record in linked)
    by_node: Dict[str, List[ExecutionRecord]] = {}
    for name, execution in linked:
        by_node.setdefault(name, []).append(execution)
    # One look at SLURM for the whole workflow; then judged node by node, parents first.
    every, warning = status(
        db, [execution for _node, execution in linked], client=client, record=False
    )
    row_of = {row.execution.id: row for row in every}
    statuses: Dict[int, str] = {}
    cells: List[WorkflowCell] = []
    for node in nodes:
        rows = [row_of[execution.id] for execution in by_node.get(node.node, [])]
        for row in rows:
            execution = row.execution
            doomed = _doomed(execution, node.trigger_rule, parents.get(execution.id, []), statuses)
            change = row.change
            refused = None
            if doomed and (row.slurm is None or not row.slurm.active) and record:
                refused = db.refuse_if_upstream_failed(execution.id)
            if refused is not None:
                change = (str(execution.status), "CANCELLED", refused)
                execution = db.execution(execution.id)
            elif change is not None and record:
                execution, change = record_change(db, execution, change)
            # What this look decided (recorded or, with record=False, only shown).
            now, error = change[1:] if change else (str(execution.status), execution.error)
            statuses[execution.id] = now
            cells.append(
                WorkflowCell(
                    node.node,
                    execution,
                    _shown(now, error, doomed),
                    row.job,
                    row.point,
                    row.log,
                    change,
                )
            )
    later = [w.id for w in db.workflows(resubmission_of=workflow_id, limit=None)]
    return WorkflowStatus(workflow, nodes, cells, warning, sorted(later))
