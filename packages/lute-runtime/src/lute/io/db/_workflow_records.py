"""Workflow rows as records, and what an execution of a workflow follows. Private.

:class:`WorkflowRecord`, :class:`WorkflowNodeRecord` and :class:`Upstream`, how rows
become them, and :func:`find_upstream` / :func:`upstream_reason`, which the claim of a
queued execution and ``lute-exec workflow status`` share.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.io.db._lost import verdict
from lute.io.db._records import EXECUTION_SELECT, execution_from_row
from lute.io.db._triggers import NEVER, TRIGGER_RULES
from lute.io.db._triggers import verdict as trigger_verdict

__all__ = [
    "NODE_COLUMNS",
    "PREFIXED_SELECT",
    "WORKFLOW_COLUMNS",
    "Upstream",
    "WorkflowNodeRecord",
    "WorkflowRecord",
    "find_upstream",
    "node_from_row",
    "upstream_reason",
]

WORKFLOW_COLUMNS = (
    "id, name, created, resubmission_of, dag_path, config_path, host, user, command,"
    " description, cancelled"
)
# The execution columns, of the table aliased "e".
PREFIXED_SELECT = ", ".join("e." + name.strip() for name in EXECUTION_SELECT.split(","))
NODE_COLUMNS = "node, position, managed_task, trigger_rule, parents, run_dependent, dependency"


class WorkflowRecord(FrozenRecord):
    """One submitted workflow.

    Attributes:
        id: Workflow id.
        name: Its name (the DAG file's, or its stem).
        created: UTC ISO-8601 time it was submitted.
        resubmission_of: The workflow whose unfinished part this one runs again.
        dag_path: The DAG file.
        config_path: The YAML config.
        host: Host it was submitted from.
        user: Who submitted it.
        command: The command line.
        description: What it was submitted with (JSON text: runs, overrides, options),
            for a resubmission to start from.
        cancelled: UTC ISO-8601 time ``lute-exec workflow cancel`` ended it, if it did.
    """

    _FIELDS = (
        "id",
        "name",
        "created",
        "resubmission_of",
        "dag_path",
        "config_path",
        "host",
        "user",
        "command",
        "description",
        "cancelled",
    )
    __slots__ = _FIELDS
    id: int
    name: str
    created: str
    resubmission_of: Optional[int]
    dag_path: Optional[str]
    config_path: Optional[str]
    host: Optional[str]
    user: Optional[str]
    command: Optional[str]
    description: Optional[str]
    cancelled: Optional[str]

    def __init__(self, *values: Any) -> None:
        self._set_fields(*values)


class WorkflowNodeRecord(FrozenRecord):
    """One node of a submitted workflow.

    Attributes:
        node: Its name in the workflow.
        position: Its place in submission order (parents first).
        managed_task: The managed task it runs.
        trigger_rule: When it runs (a key of ``TRIGGER_RULES``).
        parents: The nodes it follows.
        run_dependent: Whether it runs once per run.
        dependency: The ``--dependency`` its jobs were submitted with (``None``: none,
            or a node this resubmission keeps as it was).
    """

    _FIELDS = (
        "node",
        "position",
        "managed_task",
        "trigger_rule",
        "parents",
        "run_dependent",
        "dependency",
    )
    __slots__ = _FIELDS
    node: str
    position: int
    managed_task: str
    trigger_rule: str
    parents: Tuple[str, ...]
    run_dependent: bool
    dependency: Optional[str]

    def __init__(
        self,
        node: str,
        position: int,
        managed_task: str,
        trigger_rule: str,
        parents: Sequence[str],
        run_dependent: bool,
        dependency: Optional[str],
    ) -> None:
        self._set_fields(
            node, position, managed_task, trigger_rule, tuple(parents), run_dependent, dependency
        )


class Upstream(FrozenRecord):
    """What an execution of a workflow follows: its node's rule and its parents.

    Attributes:
        workflow_id: The workflow that queued it.
        node: Its node.
        trigger_rule: The node's rule.
        parents: ``(execution id, node, run, status)`` of each execution it follows.
    """

    _FIELDS = ("workflow_id", "node", "trigger_rule", "parents")
    __slots__ = _FIELDS
    workflow_id: int
    node: str
    trigger_rule: str
    parents: Tuple[Tuple[int, str, Optional[str], str], ...]

    def __init__(
        self,
        workflow_id: int,
        node: str,
        trigger_rule: str,
        parents: Iterable[Tuple[int, str, Optional[str], str]],
    ) -> None:
        self._set_fields(workflow_id, node, trigger_rule, tuple(parents))

    def verdict(self) -> str:
        """The node's rule applied to the parents' statuses (``lute.io.db.trigger_verdict``)."""
        return trigger_verdict(self.trigger_rule, [parent[3] for parent in self.parents])


def node_from_row(row: Sequence[Any]) -> WorkflowNodeRecord:
    node, position, managed_task, rule, parents, run_dependent, dependency = row
    return WorkflowNodeRecord(
        node, position, managed_task, rule, json.loads(parents), bool(run_dependent), dependency
    )


def upstream_reason(upstream: Upstream, decided: str) -> str:
    """Why an execution does not run: its rule and the parents that decide it."""
    shown = ", ".join(
        "%s%s %s"
        % (node or "execution %d" % execution_id, "" if run is None else " run " + run, status)
        for execution_id, node, run, status in upstream.parents
    )
    if decided == NEVER:
        return "upstream failed: %s needs %s (%s); %s" % (
            upstream.node,
            upstream.trigger_rule,
            TRIGGER_RULES[upstream.trigger_rule],
            shown,
        )
    return "upstream not ended when the job started: %s needs %s; %s" % (
        upstream.node,
        upstream.trigger_rule,
        shown,
    )


def find_upstream(conn: sqlite3.Connection, key: int) -> Optional[Upstream]:
    row = conn.execute(
        "SELECT w.workflow_id, w.node, n.trigger_rule FROM workflow_executions AS w"
        " JOIN workflow_nodes AS n ON n.workflow_id = w.workflow_id AND n.node = w.node"
        " WHERE w.execution_id = ? ORDER BY w.workflow_id DESC LIMIT 1",
        (key,),
    ).fetchone()
    if row is None:
        return None
    workflow_id, node, rule = row
    judge = verdict()
    parents = []
    for parent in conn.execute(
        f"SELECT w.node, {PREFIXED_SELECT} FROM execution_parents AS p"
        " JOIN executions AS e ON e.id = p.parent_id"
        " LEFT JOIN workflow_executions AS w ON w.execution_id = e.id AND w.workflow_id = ?"
        " WHERE p.execution_id = ? ORDER BY e.id",
        (workflow_id, key),
    ):
        record = execution_from_row(parent[1:], judge)
        parents.append((record.id, parent[0] or "", record.run, record.status))
    return Upstream(workflow_id, node, rule, parents)
