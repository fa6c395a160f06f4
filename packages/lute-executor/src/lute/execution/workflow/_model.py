"""What a workflow is: its nodes (managed tasks), who follows whom, and the trigger rules.

Built by :mod:`lute.execution.workflow._parse` from a DAG file; everything here is
plain data and pure functions.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.io.db import TRIGGER_RULES

__all__ = ["TRIGGER_RULES", "Dag", "Node"]


class Node(FrozenRecord):
    """One node of a workflow: a managed task to submit, and when.

    Attributes:
        name: The node's name in the workflow (unique).
        managed_task: The managed task it runs.
        parents: Names of the nodes it follows (empty: a root).
        trigger: Its trigger rule (a key of :data:`TRIGGER_RULES`).
        overrides: ``Task.param=value`` overrides of its own.
        slurm: Its SLURM options as written (a mapping, or sbatch arguments as text);
            empty when it has none.
        slurm_replaces: ``slurm`` replaces the command line's SLURM options instead of
            being overridden by them (the original LUTE's ``!param_sweep`` rule).
        run_dependent: It runs once per run (``--runs``); otherwise once, after every
            run of its parents.
        sweep: Parameter sweep, parameter -> values (empty: no sweep).
        zip_sweep: The sweep's lists are zipped instead of combined.
        line: The line of the DAG file where the node starts.
    """

    _FIELDS = (
        "name",
        "managed_task",
        "parents",
        "trigger",
        "overrides",
        "slurm",
        "slurm_replaces",
        "run_dependent",
        "sweep",
        "zip_sweep",
        "line",
    )
    __slots__ = _FIELDS
    name: str
    managed_task: str
    parents: Tuple[str, ...]
    trigger: str
    overrides: Tuple[str, ...]
    slurm: Any
    slurm_replaces: bool
    run_dependent: bool
    sweep: Dict[str, Tuple[Any, ...]]
    zip_sweep: bool
    line: Optional[int]

    def __init__(
        self,
        name: str,
        managed_task: str,
        parents: Sequence[str] = (),
        trigger: str = "all_success",
        overrides: Sequence[str] = (),
        slurm: Any = None,
        slurm_replaces: bool = False,
        run_dependent: bool = True,
        sweep: Optional[Mapping[str, Sequence[Any]]] = None,
        zip_sweep: bool = False,
        line: Optional[int] = None,
    ) -> None:
        self._set_fields(
            name,
            managed_task,
            tuple(parents),
            trigger,
            tuple(overrides),
            slurm if slurm else {},
            slurm_replaces,
            run_dependent,
            {key: tuple(values) for key, values in (sweep or {}).items()},
            zip_sweep,
            line,
        )

    def with_parents(self, parents: Sequence[str]) -> Node:
        """This node, following ``parents`` instead."""
        return Node(
            self.name,
            self.managed_task,
            parents=tuple(dict.fromkeys(parents)),
            trigger=self.trigger,
            overrides=self.overrides,
            slurm=self.slurm,
            slurm_replaces=self.slurm_replaces,
            run_dependent=self.run_dependent,
            sweep=self.sweep,
            zip_sweep=self.zip_sweep,
            line=self.line,
        )


class Dag(FrozenRecord):
    """A workflow: its nodes, in the order the file gives them.

    Attributes:
        name: The workflow's name (the file's stem unless it names one).
        path: The DAG file.
        nodes: Node name -> node.
        form: ``"lute"`` (this project's form) or ``"original"`` (a ``!LUTE_DAG`` file).
    """

    _FIELDS = ("name", "path", "nodes", "form")
    __slots__ = _FIELDS
    name: str
    path: str
    nodes: Dict[str, Node]
    form: str

    def __init__(self, name: str, path: str, nodes: Mapping[str, Node], form: str) -> None:
        self._set_fields(name, path, dict(nodes), form)

    def children(self, name: str) -> List[str]:
        """The nodes that follow ``name``, in file order."""
        return [node.name for node in self.nodes.values() if name in node.parents]

    def roots(self) -> List[str]:
        """The nodes without parents (they start at once, in parallel)."""
        return [node.name for node in self.nodes.values() if not node.parents]

    def order(self) -> List[str]:
        """Every node after all of its parents (the DAG must have no cycle)."""
        done: List[str] = []
        seen = set()
        pending = list(self.nodes)
        while pending:
            progress = False
            for name in list(pending):
                if all(parent in seen for parent in self.nodes[name].parents):
                    done.append(name)
                    seen.add(name)
                    pending.remove(name)
                    progress = True
            if not progress:
                raise ValueError("the workflow has a cycle: %s" % ", ".join(pending))
        return done

    def after_runs(self, name: str) -> bool:
        """Whether ``name`` waits for every run of its parents (a merge over the runs):
        it is not run-dependent while one of its ancestors is."""
        node = self.nodes[name]
        return not node.run_dependent and any(
            self.nodes[ancestor].run_dependent for ancestor in self.ancestors(name)
        )

    def ancestors(self, name: str) -> List[str]:
        """Every node ``name`` follows, directly or not."""
        found: List[str] = []
        stack = list(self.nodes[name].parents)
        while stack:
            parent = stack.pop()
            if parent not in found:
                found.append(parent)
                stack.extend(self.nodes[parent].parents)
        return found

    def descendants(self, name: str) -> List[str]:
        """Every node that follows ``name``, directly or not."""
        found: List[str] = []
        stack = self.children(name)
        while stack:
            child = stack.pop()
            if child not in found:
                found.append(child)
                stack.extend(self.children(child))
        return found
