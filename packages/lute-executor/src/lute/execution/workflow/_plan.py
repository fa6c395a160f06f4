"""Pre-flight: a whole workflow checked, node by node, before anything is queued.

For every node: its managed task, its points (one per run for a run-dependent node
given ``--runs``, times its sweep), every point validated as ``lute-exec run`` would
(:func:`lute.execution.slurm.prepare`: the config, the Task's environment probed, the
sbatch options), and its batch scripts rendered. A parameter whose default is the
result of an upstream node cannot be read yet: inside
:func:`lute.io.db.pending_results` it stands in as a placeholder, the rest is checked,
and the job's own validation fills it. Every problem of every node is collected, named
with the node and its line in the DAG file; nothing is queued if there is one.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.workflow._dependencies import NodeJobs, dependency
from lute.execution.workflow._errors import WorkflowError
from lute.execution.workflow._model import Dag, Node

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.slurm import Point, Prepared, SlurmClient
    from lute.io.db import PendingResult

__all__ = [
    "WORKFLOW_OPTIONS",
    "NodePlan",
    "WorkflowPlan",
    "WorkflowRequest",
    "node_points",
    "plan_workflow",
]

#: sbatch options a workflow sets on every job itself.
WORKFLOW_OPTIONS = ("dependency", "kill-on-invalid-dep", "hold")


class WorkflowRequest(Record):
    """What to submit: ``lute-exec workflow submit``'s arguments.

    Attributes:
        dag_path: The DAG file.
        config: The YAML config.
        runs: ``--runs`` (``12-40,45``), or ``None`` (the config's run).
        overrides: ``Task.param=value`` overrides for every node.
        sbatch: sbatch options for every job (after ``--``).
        max_parallel: ``--max-parallel``: at most this many runs of a node at once.
        command: The command line, recorded with the workflow.
    """

    _FIELDS = ("dag_path", "config", "runs", "overrides", "sbatch", "max_parallel", "command")
    __slots__ = _FIELDS

    def __init__(
        self,
        dag_path: str,
        config: str,
        runs: Optional[str] = None,
        overrides: Sequence[str] = (),
        sbatch: Sequence[str] = (),
        max_parallel: Optional[int] = None,
        command: str = "",
    ) -> None:
        self.dag_path = os.path.abspath(dag_path)
        self.config = config
        self.runs = runs
        self.overrides = list(overrides)
        self.sbatch = list(sbatch)
        self.max_parallel = max_parallel
        self.command = command

    def description(self) -> str:
        """What a resubmission starts from (JSON text, recorded with the workflow)."""
        return json.dumps(
            {
                "runs": self.runs,
                "overrides": self.overrides,
                "sbatch": self.sbatch,
                "max_parallel": self.max_parallel,
            }
        )

    @classmethod
    def from_description(
        cls, dag_path: str, config: str, text: Optional[str], command: str = ""
    ) -> WorkflowRequest:
        """The request a recorded workflow was submitted with."""
        data = json.loads(text) if text else {}
        return cls(
            dag_path,
            config,
            runs=data.get("runs"),
            overrides=data.get("overrides", ()),
            sbatch=data.get("sbatch", ()),
            max_parallel=data.get("max_parallel"),
            command=command,
        )


class NodePlan(Record):
    """One node, checked: its submissions (one, or one per distinct set of options of a
    sweep whose ``slurm_params`` name its parameters) and what is left to run time.

    Attributes:
        node: The node.
        task_name: Its managed task's Task.
        prepared: Its submissions, checked, nothing written.
        pending: The placeholders of upstream results its validation met.
    """

    _FIELDS = ("node", "task_name", "prepared", "pending")
    __slots__ = _FIELDS

    def __init__(
        self,
        node: Node,
        task_name: str,
        prepared: List[Prepared],
        pending: List[PendingResult],
    ) -> None:
        self.node = node
        self.task_name = task_name
        self.prepared = prepared
        self.pending = pending

    @property
    def points(self) -> List[Any]:
        """Every planned point (``PlannedPoint``), in submission order."""
        return [point for prepared in self.prepared for point in prepared.planned]

    def aligned_runs(self) -> Optional[Tuple[str, ...]]:
        """The run of each array task when the node is one array with one task per run
        (what ``aftercorr`` needs); ``None`` otherwise."""
        if len(self.prepared) != 1 or len(self.prepared[0].jobs) != 1 or self.node.sweep:
            return None
        runs = [point.point.run for point in self.prepared[0].planned]
        if any(run is None for run in runs):
            return None
        return tuple(str(run) for run in runs)


class WorkflowPlan(Record):
    """A workflow checked from end to end; nothing written yet.

    Attributes:
        request: What was asked for.
        dag: The workflow.
        nodes: Node name -> its plan, in submission order (parents first); a
            resubmission has only the nodes it runs again.
        db_path: The results database of every node.
    """

    _FIELDS = ("request", "dag", "nodes", "db_path")
    __slots__ = _FIELDS

    def __init__(
        self, request: WorkflowRequest, dag: Dag, nodes: Dict[str, NodePlan], db_path: str
    ) -> None:
        self.request = request
        self.dag = dag
        self.nodes = nodes
        self.db_path = db_path

    def dependency(self, name: str, jobs: Dict[str, List[str]]) -> Tuple[Optional[str], str]:
        """A node's ``--dependency`` value and how it reads in words.

        Args:
            name: The node.
            jobs: Each parent's job ids (placeholders in a dry run); a parent that is
                not part of the plan (a resubmission keeps it) is left out.
        """
        node_plan = self.nodes[name]
        parents = [parent for parent in node_plan.node.parents if parent in self.nodes]
        return dependency(
            node_plan.node.trigger,
            NodeJobs(name, [], node_plan.aligned_runs()),
            [NodeJobs(p, jobs[p], self.nodes[p].aligned_runs()) for p in parents],
        )

    def chain_problems(self) -> List[str]:
        """The nodes whose arrays ``--max-parallel`` cannot chain behind their
        dependency (see :func:`lute.execution.slurm.chain_problem`)."""
        from lute.execution.slurm import Option, chain_problem

        placeholders = {name: ["<%s>" % name] for name in self.nodes}
        problems: List[str] = []
        for name, node_plan in self.nodes.items():
            value, _ = self.dependency(name, placeholders)
            option = None
            if value is not None:
                option = Option("dependency", value, "the trigger rule %s" % node_plan.node.trigger)
            for prepared in node_plan.prepared:
                problem = chain_problem(prepared.request.max_parallel, len(prepared.jobs), option)
                if problem is not None:
                    problems.append("%s: %s" % (_where(self.dag, node_plan.node), problem))
        return list(dict.fromkeys(problems))


def _where(dag: Dag, node: Node) -> str:
    return "node %s (%s%s)" % (
        node.name,
        dag.path,
        "" if node.line is None else ":%d" % node.line,
    )


def _sweep_key(node: Node, task_name: str, key: str) -> str:
    """A sweep's parameter as an override key; the original form names the node's Task's
    parameters bare (``threshold``)."""
    return key if "." in key else "%s.%s" % (task_name, key)


def _sweep_axes(node: Node, task_name: str) -> List[Any]:
    from lute.execution.slurm import Axis, value_text

    source = "the sweep of node %s" % node.name
    keys = [_sweep_key(node, task_name, key) for key in node.sweep]
    columns = [[value_text(value) for value in values] for values in node.sweep.values()]
    if node.zip_sweep:
        if len({len(column) for column in columns}) > 1:
            given = ", ".join("%s has %d" % (k, len(c)) for k, c in zip(keys, columns))
            raise WorkflowError("%s: zipped lists must be as long: %s" % (source, given))
        return [Axis(tuple(keys), tuple(zip(*columns)), source)]
    return [
        Axis((key,), tuple((text,) for text in column), source)
        for key, column in zip(keys, columns)
    ]


def node_points(node: Node, task_name: str, runs: Optional[Sequence[str]]) -> List[Point]:
    """The points of a node: its runs (when it is run-dependent) times its sweep."""
    from lute.execution.slurm import expand_points

    return expand_points(runs if node.run_dependent else None, _sweep_axes(node, task_name))


def _sweep_values(node: Node, task_name: str, point: Point) -> Dict[str, Any]:
    """A point's sweep values by the names its node's ``param_matrix`` gives them."""
    import yaml

    given = dict(override.partition("=")[::2] for override in point.values)
    values: Dict[str, Any] = {}
    for key in node.sweep:
        text = given.get(_sweep_key(node, task_name, key))
        if text is not None:
            values[key] = yaml.safe_load(text)
    return values


def _option_groups(
    node: Node, task_name: str, points: Sequence[Point]
) -> List[Tuple[Any, List[Point]]]:
    """The node's own options, and the points they apply to: one group, unless a sweep's
    ``slurm_params`` name its parameters (``--ntasks={cores}``)."""
    if not isinstance(node.slurm, str) or "{" not in node.slurm or not node.sweep:
        return [(node.slurm, list(points))]
    groups: Dict[str, List[Point]] = {}
    for point in points:
        try:
            text = node.slurm.format(**_sweep_values(node, task_name, point))
        except (KeyError, IndexError, ValueError) as error:
            raise WorkflowError(
                "node %s: its slurm_params %r name %s, which is not in its param_matrix"
                % (node.name, node.slurm, error)
            ) from None
        groups.setdefault(text, []).append(point)
    return list(groups.items())


def _node_layer(dag: Dag, node: Node, options: Any) -> Tuple[Dict[str, Any], List[Tuple[str, str]]]:
    """The node's sbatch options as an option layer (above the command line's)."""
    from lute.execution.slurm import layer_from_mapping, parse_command_line

    where = "%s%s" % (dag.path, "" if node.line is None else ":%d" % node.line)
    if isinstance(options, str):
        try:
            arguments = shlex.split(options)
        except ValueError as error:
            return {}, [("%s (%s slurm)" % (where, node.name), str(error))]
        return parse_command_line(arguments, source="%s (%s slurm)" % (where, node.name))
    return layer_from_mapping(
        options or {}, lambda key: "%s (%s.slurm: %s)" % (where, node.name, key)
    )


def _from_the_node(
    dag: Dag, node: Node, problems: Sequence[str], given: Sequence[str]
) -> List[str]:
    """Problems of the node's own overrides, placed in the DAG file (the checks see
    them as given on the command line); ``given``: the command line's own."""
    keys = {override.partition("=")[0].strip() for override in given}
    own = {override.partition("=")[0].strip() for override in node.overrides} - keys
    where = "%s%s (%s.overrides)" % (
        dag.path,
        "" if node.line is None else ":%d" % node.line,
        node.name,
    )
    placed = []
    for problem in problems:
        head, _, rest = problem.partition(": ")
        key = rest.partition(":")[0].strip()
        placed.append(
            "%s: %s" % (where, rest) if head == "command line" and key in own else problem
        )
    return placed


def _sections(dag: Dag, task_names: Dict[str, str]) -> Dict[str, str]:
    """Node -> the config section its managed task reads (of the nodes in ``task_names``)."""
    from lute.managed_tasks import get_managed_task

    return {
        name: get_managed_task(dag.nodes[name].managed_task).config_section for name in task_names
    }


def _unread_overrides(overrides: Sequence[str], sections: Dict[str, str]) -> List[str]:
    """The command line's overrides no node reads: each node is given only those of its
    own section (and the header), so one no node reads would be silently dropped."""
    from lute.io.config import reads_override

    read = sorted(set(sections.values()))
    return [
        "command line: cannot set %r: no node of the workflow reads its section (they read "
        "%s, and the header lute_config)" % (override, ", ".join(read))
        for override in overrides
        if not any(reads_override(section, override) for section in read)
    ]


def _task_names(dag: Dag, problems: List[str]) -> Dict[str, str]:
    """Node -> its managed task's Task; an unknown managed task is a problem."""
    from lute.managed_tasks import ManagedTaskNotFound, get_managed_task

    names: Dict[str, str] = {}
    for node in dag.nodes.values():
        try:
            names[node.name] = get_managed_task(node.managed_task).task_name
        except ManagedTaskNotFound as error:
            problems.append("%s: %s" % (_where(dag, node), error))
    return names


def _plan_node(
    request: WorkflowRequest,
    dag: Dag,
    node: Node,
    task_names: Dict[str, str],
    points: List[Point],
    client: Optional[SlurmClient],
    given: Sequence[str],
) -> NodePlan:
    """``given``: the command line's overrides this node reads."""
    from lute.execution.slurm import SubmitError, SubmitRequest, dry_run, prepare
    from lute.io.db import pending_results

    providers = {task_names[a]: a for a in dag.ancestors(node.name) if a in task_names}
    submit_request = SubmitRequest(
        request.config,
        node.managed_task,
        overrides=[*node.overrides, *given],  # the command line wins, as for sbatch
        max_parallel=request.max_parallel if node.run_dependent else None,
        sbatch=request.sbatch,
        command=request.command,
    )
    prepared: List[Prepared] = []
    pending: List[PendingResult] = []
    problems: List[str] = []
    for options, group in _option_groups(node, task_names[node.name], points):
        layer, found = _node_layer(dag, node, options)
        problems.extend("%s: %s" % where_text for where_text in found)
        try:
            with pending_results(providers) as handed:
                one = prepare(
                    submit_request,
                    client=client,
                    points=group,
                    node_layer=layer,
                    replace_command_line=node.slurm_replaces,
                )
        except SubmitError as error:  # its title only counts the problems listed
            problems.extend(_from_the_node(dag, node, error.problems or [error.title], given))
            continue
        pending.extend(handed)
        for planned in one.planned:
            taken = [name for name in WORKFLOW_OPTIONS if name in planned.options]
            for name in taken:
                problems.append(
                    "%s: the workflow sets --%s itself (from the trigger rules); remove "
                    "the one set by %s" % (node.name, name, planned.options[name].source)
                )
        dry_run(one)  # every script renders before anything is queued
        prepared.append(one)
    if problems:
        raise WorkflowError("%s" % _where(dag, node), list(dict.fromkeys(problems)))
    return NodePlan(node, task_names[node.name], prepared, pending)


def plan_workflow(
    request: WorkflowRequest,
    *,
    dag: Optional[Dag] = None,
    client: Optional[SlurmClient] = None,
    only: Optional[Dict[str, List[Point]]] = None,
) -> WorkflowPlan:
    """Check the whole workflow; write nothing.

    Args:
        request: What to submit.
        dag: The workflow (default: read from ``request.dag_path``).
        client: The SLURM commands (for ``MaxArraySize``).
        only: A resubmission's nodes, each with the points it runs again; the other
            nodes are kept as they ended.

    Raises:
        WorkflowError: Every problem of every node (nothing queued or written).
    """
    from lute.execution.slurm import SubmitError, parse_runs
    from lute.execution.workflow._parse import load_dag
    from lute.io.config import ConfigError, reads_override

    if dag is None:
        try:
            dag = load_dag(request.dag_path)
        except ConfigError as error:
            raise WorkflowError(
                "%d problem%s in the workflow %s; nothing was submitted:"
                % (len(error.problems), "" if len(error.problems) == 1 else "s", request.dag_path),
                [str(problem) for problem in error.problems],
            ) from None
    try:
        runs = parse_runs(request.runs) if request.runs is not None else None
    except SubmitError as error:
        raise WorkflowError(error.title, error.problems) from None
    problems: List[str] = []
    task_names = _task_names(dag, problems)
    sections = _sections(dag, task_names)
    problems.extend(_unread_overrides(request.overrides, sections))
    nodes: Dict[str, NodePlan] = {}
    for name in dag.order():
        node = dag.nodes[name]
        if name not in task_names or (only is not None and name not in only):
            continue
        given = [o for o in request.overrides if reads_override(sections[name], o)]
        try:
            points = only[name] if only is not None else node_points(node, task_names[name], runs)
            nodes[name] = _plan_node(request, dag, node, task_names, points, client, given)
        except WorkflowError as error:
            problems.extend(
                ["%s:" % error.title, *("    %s" % line for line in error.problems)]
                if error.problems
                else [error.title]
            )
    databases = sorted({p.db_path for plan in nodes.values() for p in plan.prepared})
    if len(databases) > 1:
        problems.append(
            "the nodes of one workflow must share one results database; they use %s (set "
            "db_path in the config's header)" % ", ".join(databases)
        )
    plan = WorkflowPlan(request, dag, nodes, databases[0] if databases else "")
    if not problems:
        problems.extend(plan.chain_problems())
    if problems:
        count = sum(1 for line in problems if not line.startswith("    "))
        raise WorkflowError(
            "%d problem%s in the workflow %s (%d node%s checked); nothing was submitted:"
            % (
                count,
                "" if count == 1 else "s",
                dag.name,
                len(dag.nodes),
                "" if len(dag.nodes) == 1 else "s",
            ),
            problems,
        )
    return plan
