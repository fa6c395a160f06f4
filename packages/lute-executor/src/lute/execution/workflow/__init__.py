"""Workflows: DAGs of managed tasks, submitted to SLURM and scheduled by its dependencies.

See ``docs/workflows.md``. The private modules, one job each (none imports this one):

- ``_model`` -- a workflow's nodes, who follows whom (plain data, pure functions);
- ``_parse`` -- reading a DAG file, in this project's form or the original ``!LUTE_DAG``;
- ``_dependencies`` -- trigger rules written as ``sbatch --dependency`` values;
- ``_plan`` -- the whole workflow checked before anything is queued;
- ``_submit`` -- every node submitted, wired and released, all or nothing;
- ``_status`` -- where a workflow stands, reconciled with SLURM node by node;
- ``_resubmit`` -- cancelling, and running again what did not complete;
- ``_errors`` -- :class:`WorkflowError`.
"""

from __future__ import annotations

from lute.execution.workflow._dependencies import NodeJobs, dependency
from lute.execution.workflow._errors import WorkflowError
from lute.execution.workflow._model import TRIGGER_RULES, Dag, Node
from lute.execution.workflow._parse import load_dag
from lute.execution.workflow._plan import (
    NodePlan,
    WorkflowPlan,
    WorkflowRequest,
    node_points,
    plan_workflow,
)
from lute.execution.workflow._resubmit import (
    Resubmission,
    cancel_workflow,
    plan_workflow_resubmission,
)
from lute.execution.workflow._status import (
    SHOWN,
    UPSTREAM_FAILED,
    WorkflowCell,
    WorkflowStatus,
    shown_counts,
    workflow_status,
)
from lute.execution.workflow._submit import (
    WorkflowSubmission,
    dry_run_workflow,
    graph_lines,
    submit_workflow,
)

__all__ = [
    "SHOWN",
    "TRIGGER_RULES",
    "UPSTREAM_FAILED",
    "Dag",
    "Node",
    "NodeJobs",
    "NodePlan",
    "Resubmission",
    "WorkflowCell",
    "WorkflowError",
    "WorkflowPlan",
    "WorkflowRequest",
    "WorkflowStatus",
    "WorkflowSubmission",
    "cancel_workflow",
    "dependency",
    "dry_run_workflow",
    "graph_lines",
    "load_dag",
    "node_points",
    "plan_workflow",
    "plan_workflow_resubmission",
    "shown_counts",
    "submit_workflow",
    "workflow_status",
]
