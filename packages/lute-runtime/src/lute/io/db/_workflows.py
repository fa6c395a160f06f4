"""Workflows in :class:`lute.io.db.Database`: their nodes, executions and upstream. Private.

``lute-exec workflow submit`` records a workflow (its DAG file, config, command line),
each node (managed task, trigger rule, parents, the ``--dependency`` it was given), and
links every execution it queued to its node and to the executions it follows: run 17's
index step to run 17's peak finding, a merge to every run's. A resubmission is a new
workflow linked to the one it repeats; it links the executions it queued and the
completed ones it keeps. Before a node's queued execution starts,
:meth:`WorkflowsMixin.refuse_if_upstream_failed` decides whether its rule holds.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from lute.io.db._arguments import execution_key, optional_text
from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._lost import verdict
from lute.io.db._query import Where, sql_limit
from lute.io.db._records import ExecutionRecord, execution_from_row
from lute.io.db._supervision import host_name
from lute.io.db._triggers import HOLDS, TRIGGER_RULES
from lute.io.db._values import utc_now
from lute.io.db._workflow_records import (
    NODE_COLUMNS,
    PREFIXED_SELECT,
    WORKFLOW_COLUMNS,
    Upstream,
    WorkflowNodeRecord,
    WorkflowRecord,
    find_upstream,
    node_from_row,
    upstream_reason,
)
from lute.io.db._writer import current_user

__all__ = ["WorkflowsMixin"]


def _require_workflow(conn: sqlite3.Connection, key: int, path: str) -> None:
    if conn.execute("SELECT 1 FROM workflows WHERE id = ?", (key,)).fetchone() is None:
        raise DatabaseError(f"no workflow with id {key} in {path}")


class WorkflowsMixin(DatabaseCore):
    """The methods of workflows; see :class:`lute.io.db.Database`."""

    def create_workflow(
        self,
        name: str,
        *,
        dag_path: Optional[str] = None,
        config_path: Optional[str] = None,
        command: Optional[str] = None,
        description: Optional[str] = None,
        resubmission_of: Optional[int] = None,
    ) -> int:
        """Record a new workflow, to add nodes and executions to; its id.

        Raises:
            DatabaseError: ``resubmission_of`` names no workflow.
        """
        values = (
            optional_text(name, "name"),
            optional_text(dag_path, "dag_path"),
            optional_text(config_path, "config_path"),
            optional_text(command, "command"),
            optional_text(description, "description"),
        )
        earlier = (
            None if resubmission_of is None else execution_key(resubmission_of, "resubmission_of")
        )

        def body(conn: sqlite3.Connection) -> int:
            if earlier is not None:
                _require_workflow(conn, earlier, self._path)
            cursor = conn.execute(
                "INSERT INTO workflows (name, created, resubmission_of, dag_path, config_path,"
                " host, user, command, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    values[0],
                    utc_now(),
                    earlier,
                    values[1],
                    values[2],
                    host_name(),
                    current_user(),
                    values[3],
                    values[4],
                ),
            )
            return int(cursor.lastrowid)  # type: ignore[arg-type]

        return self._write("record a workflow", body)

    def add_workflow_node(
        self,
        workflow_id: int,
        node: str,
        *,
        position: int,
        managed_task: str,
        trigger_rule: str,
        parents: Sequence[str] = (),
        run_dependent: bool = True,
        dependency: Optional[str] = None,
    ) -> None:
        """Record one node of a workflow (its parents first).

        Raises:
            DatabaseError: No such workflow, a second node of that name, an unknown
                rule or parent.
        """
        key = execution_key(workflow_id, "workflow_id")
        if trigger_rule not in TRIGGER_RULES:
            raise DatabaseError("add_workflow_node: unknown trigger rule %r" % (trigger_rule,))
        names = [optional_text(parent, "parents") for parent in parents]

        def body(conn: sqlite3.Connection) -> None:
            _require_workflow(conn, key, self._path)
            known = {
                row[0]
                for row in conn.execute(
                    "SELECT node FROM workflow_nodes WHERE workflow_id = ?", (key,)
                )
            }
            if node in known:
                raise DatabaseError(f"workflow {key} has a node {node!r} already")
            unknown = [parent for parent in names if parent not in known]
            if unknown:
                raise DatabaseError(
                    "add_workflow_node: %r follows %s, not recorded (parents first)"
                    % (node, ", ".join(map(repr, unknown)))
                )
            conn.execute(
                f"INSERT INTO workflow_nodes (workflow_id, {NODE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    node,
                    int(position),
                    managed_task,
                    trigger_rule,
                    json.dumps(names),
                    int(bool(run_dependent)),
                    optional_text(dependency, "dependency"),
                ),
            )

        self._write(f"record node {node} of workflow {key}", body)

    def link_workflow_executions(
        self,
        workflow_id: int,
        node: str,
        parents: Mapping[int, Sequence[int]],
    ) -> None:
        """Link executions to a node, each with the executions it follows.

        Args:
            workflow_id: The workflow.
            node: Its node.
            parents: Execution id -> the ids of the executions it follows (empty for a
                root's, or for completed executions a resubmission keeps).

        Raises:
            DatabaseError: An unknown workflow, node or execution.
        """
        key = execution_key(workflow_id, "workflow_id")
        links = {
            execution_key(child): [execution_key(parent) for parent in above]
            for child, above in parents.items()
        }

        def body(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT 1 FROM workflow_nodes WHERE workflow_id = ? AND node = ?", (key, node)
            ).fetchone()
            if found is None:
                raise DatabaseError(f"workflow {key} has no node {node!r}")
            try:
                conn.executemany(
                    "INSERT INTO workflow_executions (workflow_id, node, execution_id)"
                    " VALUES (?, ?, ?)",
                    [(key, node, child) for child in links],
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO execution_parents (execution_id, parent_id)"
                    " VALUES (?, ?)",
                    [(child, parent) for child, above in links.items() for parent in above],
                )
            except sqlite3.IntegrityError as error:
                raise DatabaseError(f"link executions to node {node!r}: {error}") from None

        self._write(f"link executions to node {node} of workflow {key}", body)

    def set_workflow_dependency(self, workflow_id: int, node: str, dependency: str) -> None:
        """Record the ``--dependency`` a node's jobs were submitted with."""
        key = execution_key(workflow_id, "workflow_id")
        self._write(
            f"record the dependency of node {node}",
            lambda conn: conn.execute(
                "UPDATE workflow_nodes SET dependency = ? WHERE workflow_id = ? AND node = ?",
                (optional_text(dependency, "dependency"), key, node),
            ),
        )

    def mark_workflow_cancelled(self, workflow_id: int) -> None:
        """Record that ``lute-exec workflow cancel`` ended the workflow (first time kept)."""
        key = execution_key(workflow_id, "workflow_id")

        def body(conn: sqlite3.Connection) -> None:
            _require_workflow(conn, key, self._path)
            conn.execute(
                "UPDATE workflows SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
                (utc_now(), key),
            )

        self._write(f"record workflow {key} cancelled", body)

    def discard_workflow(self, workflow_id: int) -> int:
        """Delete a workflow whose submission failed: its QUEUED executions, links, nodes.

        Returns:
            How many executions were deleted.
        """
        key = execution_key(workflow_id, "workflow_id")

        def body(conn: sqlite3.Connection) -> int:
            # One statement, as discard_submission does; the links go after, since it reads them.
            deleted = conn.execute(
                "DELETE FROM executions WHERE status = 'QUEUED' AND id IN"
                " (SELECT execution_id FROM workflow_executions WHERE workflow_id = ?)",
                (key,),
            ).rowcount
            conn.execute("DELETE FROM workflow_executions WHERE workflow_id = ?", (key,))
            conn.execute("DELETE FROM workflow_nodes WHERE workflow_id = ?", (key,))
            conn.execute(
                "DELETE FROM workflows WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM workflows WHERE resubmission_of = ?)",
                (key, key),
            )
            return int(deleted)

        return self._write(f"discard workflow {key}", body)

    def workflow(self, workflow_id: int) -> WorkflowRecord:
        """The workflow with this id.

        Raises:
            DatabaseError: No such workflow.
        """
        key = execution_key(workflow_id, "workflow_id")

        def body(conn: sqlite3.Connection) -> WorkflowRecord:
            row = conn.execute(
                f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ?", (key,)
            ).fetchone()
            if row is None:
                raise DatabaseError(f"no workflow with id {key} in {self._path}")
            return WorkflowRecord(*row)

        return self._read(f"read workflow {key}", body)

    def workflows(
        self,
        *,
        name: Optional[str] = None,
        resubmission_of: Optional[int] = None,
        limit: Optional[int] = 50,
    ) -> List[WorkflowRecord]:
        """Workflows, newest first; only those called ``name``, or resubmitting the
        workflow ``resubmission_of``, if given."""
        where = Where()
        if name is not None:
            where.add("name = ?", optional_text(name, "name"))
        if resubmission_of is not None:
            where.add("resubmission_of = ?", execution_key(resubmission_of, "resubmission_of"))
        query = f"SELECT {WORKFLOW_COLUMNS} FROM workflows{where.sql()} ORDER BY id DESC LIMIT ?"
        values = [*where.values, sql_limit(limit)]
        return self._read(
            "read workflows",
            lambda conn: [WorkflowRecord(*row) for row in conn.execute(query, values)],
        )

    def workflow_nodes(self, workflow_id: int) -> List[WorkflowNodeRecord]:
        """A workflow's nodes, in submission order."""
        key = execution_key(workflow_id, "workflow_id")

        def body(conn: sqlite3.Connection) -> List[WorkflowNodeRecord]:
            _require_workflow(conn, key, self._path)
            rows = conn.execute(
                f"SELECT {NODE_COLUMNS} FROM workflow_nodes WHERE workflow_id = ?"
                " ORDER BY position, node",
                (key,),
            )
            return [node_from_row(row) for row in rows]

        return self._read(f"read the nodes of workflow {key}", body)

    def workflow_executions(self, workflow_id: int) -> List[Tuple[str, ExecutionRecord]]:
        """``(node, execution)`` of each execution linked to a workflow, by node order
        then id; LOST as :meth:`execution` reports it."""
        key = execution_key(workflow_id, "workflow_id")

        def body(conn: sqlite3.Connection) -> List[Tuple[str, ExecutionRecord]]:
            _require_workflow(conn, key, self._path)
            judge = verdict()
            rows = conn.execute(
                f"SELECT w.node, {PREFIXED_SELECT} FROM workflow_executions AS w"
                " JOIN executions AS e ON e.id = w.execution_id"
                " JOIN workflow_nodes AS n ON n.workflow_id = w.workflow_id AND n.node = w.node"
                " WHERE w.workflow_id = ? ORDER BY n.position, e.slurm_array_index, e.id",
                (key,),
            )
            return [(row[0], execution_from_row(row[1:], judge)) for row in rows]

        return self._read(f"read the executions of workflow {key}", body)

    def execution_parents(self, execution_ids: Iterable[int]) -> Dict[int, List[int]]:
        """Execution id -> the executions it follows in its workflow (absent: none)."""
        keys = [execution_key(i) for i in execution_ids]

        def body(conn: sqlite3.Connection) -> Dict[int, List[int]]:
            found: Dict[int, List[int]] = {}
            for start in range(0, len(keys), 500):  # SQLite's limit on parameters
                chunk = keys[start : start + 500]
                rows = conn.execute(
                    "SELECT execution_id, parent_id FROM execution_parents WHERE execution_id"
                    " IN (%s) ORDER BY execution_id, parent_id" % ",".join("?" * len(chunk)),
                    chunk,
                )
                for child, parent in rows:
                    found.setdefault(child, []).append(parent)
            return found

        return self._read("read the parents of executions", body)

    def upstream(self, execution_id: int) -> Optional[Upstream]:
        """The rule and parents of an execution a workflow queued; ``None`` for one that
        belongs to no workflow. Parents' statuses as :meth:`execution` reports them."""
        key = execution_key(execution_id)
        return self._read(f"read the upstream of execution {key}", lambda c: find_upstream(c, key))

    def refuse_if_upstream_failed(self, execution_id: int) -> Optional[str]:
        """Before a QUEUED execution of a workflow starts: whether its rule holds.

        When it does not (a parent it needs did not complete, or one has not even
        ended: SLURM let the job start on a dependency it had forgotten), the execution
        becomes CANCELLED with the reason, in the same transaction, and the reason is
        returned. ``None``: it may run (or it belongs to no workflow, or is not QUEUED).
        """
        key = execution_key(execution_id)

        def body(conn: sqlite3.Connection) -> Optional[str]:
            found = conn.execute("SELECT status FROM executions WHERE id = ?", (key,)).fetchone()
            if found is None or found[0] != "QUEUED":
                return None
            upstream = find_upstream(conn, key)
            if upstream is None:
                return None
            decided = upstream.verdict()
            if decided == HOLDS:
                return None
            reason = upstream_reason(upstream, decided)
            conn.execute(
                "UPDATE executions SET status = 'CANCELLED', ended = ?, error = ? WHERE id = ?",
                (utc_now(), reason, key),
            )
            return reason

        return self._write(f"check the upstream of execution {key}", body)
