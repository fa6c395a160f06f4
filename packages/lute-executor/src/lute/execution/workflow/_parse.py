"""Reading a DAG file: this project's form and the original LUTE's ``!LUTE_DAG`` files.

This project's form names every node once and says whom it follows::

    workflow: sfx
    nodes:
      find_peaks: {managed_task: PeakFinder}
      index: {managed_task: Indexer, after: [find_peaks]}
      merge: {managed_task: Merger, after: [index], run_dependent: false,
              trigger: all_success, slurm: {ntasks: 8}}

The original LUTE's files are trees (``task_name``, ``slurm_params``, ``next``), with
trigger rules as tags on a node (``!ALL_COMPLETED``), ``!param_sweep`` nodes and
``run_dependent``; they are read unchanged. Their ``!branch_*`` and ``!run_type`` nodes
choose branches from facility services (the eLog's run type, the DAQ version) that a
submission cannot ask: they are refused, named, with their line.

Every problem of the file is reported at once, each with its line, as a
:class:`lute.io.config.ConfigError`; nothing is read past a file that has one.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from lute.execution.workflow._model import TRIGGER_RULES, Dag, Node

__all__ = ["load_dag"]

_NODE_KEYS = (
    "managed_task",
    "after",
    "trigger",
    "overrides",
    "slurm",
    "run_dependent",
    "sweep",
    "zip",
)
_ORIGINAL_KEYS = ("task_name", "slurm_params", "next", "run_dependent")
_SWEEP_KEYS = ("task_name", "param_matrix", "slurm_params", "next", "run_dependent")
_TRIGGER_TAGS = {"!" + rule.upper(): rule for rule in TRIGGER_RULES}
_STANDARD = "tag:yaml.org,2002:"
# The plain YAML types a value may have (never python/... or other constructors).
_PLAIN_TAGS = frozenset(
    _STANDARD + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
)


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: List[Any] = []

    def add(self, node: Any, where: str, message: str) -> None:
        from lute.io.config import ConfigProblem

        line = None if node is None else node.start_mark.line + 1
        self.items.append(ConfigProblem(self.path, line, where, message))

    def raise_any(self) -> None:
        from lute.io.config import ConfigError

        if self.items:
            raise ConfigError(self.items)


def load_dag(path: str) -> Dag:
    """Read a DAG file (either form).

    Raises:
        lute.io.config.ConfigError: Everything wrong with it, each with its line: YAML
            errors, unknown keys (with the closest valid one), unknown parents, cycles,
            bad trigger rules, sweeps, facility branches.
    """
    import yaml

    problems = _Problems(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        problems.add(None, "", "cannot read the DAG file: %s" % error)
        problems.raise_any()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problems.items.append(_yaml_problem(path, mark, error))
        problems.raise_any()
    if root is None:
        problems.add(None, "", "the DAG file is empty")
        problems.raise_any()
    reader = _Reader(problems, yaml.SafeLoader(""))
    if isinstance(root, yaml.MappingNode) and "nodes" in reader.keys(root):
        dag = reader.lute_form(root, _stem(path), path)
    else:
        dag = reader.original_form(root, _stem(path), path)
    _check_graph(dag, problems, reader.node_marks)
    problems.raise_any()
    return dag


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _yaml_problem(path: str, mark: Any, error: Any) -> Any:
    from lute.io.config import ConfigProblem

    line = None if mark is None else mark.line + 1
    text = getattr(error, "problem", None) or str(error)
    return ConfigProblem(path, line, "", "not valid YAML: %s" % text)


class _Reader:
    """Turns the composed YAML nodes into workflow nodes, noting every problem."""

    def __init__(self, problems: _Problems, loader: Any) -> None:
        self.problems = problems
        self.loader = loader
        self.node_marks: Dict[str, Any] = {}
        # id() of each composed YAML node read -> its workflow node: an alias is the same
        # object, and names a node that follows several parents (a merge).
        self._composed: Dict[int, str] = {}

    # Plain values -------------------------------------------------------------------
    def keys(self, mapping: Any) -> List[str]:
        return [str(key.value) for key, _value in mapping.value]

    def value(self, node: Any, where: str) -> Any:
        """A plain YAML value (standard tags only)."""
        import yaml

        for inner in _walk(node):
            if inner.tag not in _PLAIN_TAGS:
                self.problems.add(inner, where, "unexpected tag %s here" % inner.tag)
                return None
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            self.problems.add(node, where, "cannot read this value: %s" % error)
            return None

    def mapping(self, node: Any, where: str) -> Optional[List[Tuple[str, Any]]]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.problems.add(node, where, "expected a mapping of keys to values")
            return None
        return [(str(key.value), value) for key, value in node.value]

    def check_keys(
        self, items: Sequence[Tuple[str, Any]], known: Sequence[str], where: str
    ) -> None:
        for key, value in items:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = "; did you mean %r?" % close[0] if close else "; known: " + ", ".join(known)
                self.problems.add(value, "%s.%s" % (where, key), "unknown key %r%s" % (key, hint))

    def text(self, node: Any, where: str, *, required: bool = True) -> Optional[str]:
        value = self.value(node, where)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is None and not required:
            return None
        self.problems.add(node, where, "expected a name (text), got %r" % (value,))
        return None

    def flag(self, node: Any, where: str) -> bool:
        value = self.value(node, where)
        if isinstance(value, bool):
            return value
        self.problems.add(node, where, "expected true or false, got %r" % (value,))
        return True

    def names(self, node: Any, where: str) -> List[str]:
        value = self.value(node, where)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.add(node, where, "expected a list of node names")
            return []
        return [v.strip() for v in value]

    def overrides(self, node: Any, where: str) -> List[str]:
        value = self.value(node, where)
        if isinstance(value, dict):  # {Task.param: value} reads as the overrides
            return ["%s=%s" % (key, _override_text(item)) for key, item in value.items()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.add(node, where, "expected a list of Task.param=value overrides")
            return []
        return list(value)

    def sweep(self, node: Any, where: str) -> Dict[str, Tuple[Any, ...]]:
        value = self.value(node, where)
        if not isinstance(value, dict) or not value:
            self.problems.add(node, where, "expected a mapping of parameters to lists of values")
            return {}
        sweep: Dict[str, Tuple[Any, ...]] = {}
        for key, values in value.items():
            if not isinstance(values, list) or not values:
                self.problems.add(
                    node, "%s.%s" % (where, key), "expected a non-empty list of values"
                )
                continue
            sweep[str(key)] = tuple(values)
        return sweep

    def trigger(self, node: Any, where: str) -> str:
        value = self.value(node, where)
        rule = str(value).strip().lower() if isinstance(value, str) else None
        if rule in TRIGGER_RULES:
            return rule
        close = difflib.get_close_matches(rule or "", list(TRIGGER_RULES), n=1)
        hint = "did you mean %r? The rules are" % close[0] if close else "use one of"
        known = ", ".join(TRIGGER_RULES)
        self.problems.add(node, where, "unknown trigger rule %r: %s %s" % (value, hint, known))
        return "all_success"

    def slurm(self, node: Any, where: str) -> Any:
        value = self.value(node, where)
        if value is None or isinstance(value, (str, dict)):
            return value or {}
        self.problems.add(node, where, "expected sbatch options: a mapping or a line of them")
        return {}

    # This project's form ----------------------------------------------------------
    def lute_form(self, root: Any, default_name: str, path: str) -> Dag:
        items = self.mapping(root, "") or []
        self.check_keys(items, ("workflow", "nodes"), "workflow file")
        entries = dict(items)
        name = default_name
        if "workflow" in entries:
            name = self.text(entries["workflow"], "workflow") or default_name
        nodes: Dict[str, Node] = {}
        for node_name, spec in self.mapping(entries["nodes"], "nodes") or []:
            if node_name in nodes:
                self.problems.add(spec, node_name, "a second node named %r" % node_name)
                continue
            built = self._lute_node(node_name, spec)
            if built is not None:
                nodes[node_name] = built
                self.node_marks[node_name] = spec
        if not nodes and not self.problems.items:
            self.problems.add(entries["nodes"], "nodes", "the workflow has no nodes")
        return Dag(name, path, nodes, "lute")

    def _lute_node(self, name: str, spec: Any) -> Optional[Node]:
        items = self.mapping(spec, name)
        if items is None:
            return None
        self.check_keys(items, _NODE_KEYS, name)
        fields = dict(items)
        if "managed_task" not in fields:
            self.problems.add(spec, name, "a node needs a managed_task")
            return None

        def read(key: str, reader: Any, default: Any) -> Any:
            return reader(fields[key], "%s.%s" % (name, key)) if key in fields else default

        return Node(
            name,
            self.text(fields["managed_task"], name + ".managed_task") or "",
            parents=read("after", self.names, ()),
            trigger=read("trigger", self.trigger, "all_success"),
            overrides=read("overrides", self.overrides, ()),
            slurm=read("slurm", self.slurm, {}),
            run_dependent=read("run_dependent", self.flag, True),
            sweep=read("sweep", self.sweep, {}),
            zip_sweep=read("zip", self.flag, False),
            line=spec.start_mark.line + 1,
        )

    # The original form ------------------------------------------------------------
    def original_form(self, root: Any, default_name: str, path: str) -> Dag:
        import yaml

        nodes: Dict[str, Node] = {}
        if root.tag != "!LUTE_DAG":
            self.problems.add(
                root,
                "workflow file",
                "not a workflow: a DAG file either has 'nodes:' (this project's form) or "
                "starts with the tag !LUTE_DAG (the original LUTE's form)",
            )
        elif isinstance(root, yaml.SequenceNode):
            for child in root.value:
                self._original_node(child, (), nodes)
        else:
            self._original_node(root, (), nodes, is_root=True)
        return Dag(default_name, path, nodes, "original")

    def _original_tag(self, spec: Any, where: str, is_root: bool) -> Optional[str]:
        """The node's trigger rule from its tag (``None``: a tag it cannot have)."""
        tag = spec.tag
        if tag.startswith("!branch") or tag == "!run_type":
            self.problems.add(
                spec,
                tag,
                "%s chooses a branch from facility services (the eLog's run type, the DAQ "
                "version), which a submission for many runs cannot ask: write the branch "
                "you want as plain nodes, in a DAG file of its own" % tag,
            )
            return None
        if tag in _TRIGGER_TAGS:
            return _TRIGGER_TAGS[tag]
        if tag == "!LUTE_DAG" and not is_root:
            self.problems.add(spec, where, "!LUTE_DAG marks the whole file, not a node")
            return None
        if tag in ("!LUTE_DAG", "!param_sweep") or tag in _PLAIN_TAGS:
            return "all_success"
        self.problems.add(
            spec, where, "unknown tag %s; known: !param_sweep, %s" % (tag, ", ".join(_TRIGGER_TAGS))
        )
        return None

    def _original_node(
        self, spec: Any, parents: Tuple[str, ...], nodes: Dict[str, Node], is_root: bool = False
    ) -> None:
        import yaml

        where = "node at line %d" % (spec.start_mark.line + 1)
        seen = self._composed.get(id(spec))
        if seen is not None:  # a YAML alias (*name) of a node read already: one more parent
            node = nodes[seen]
            nodes[seen] = node.with_parents((*node.parents, *parents))
            return
        trigger = self._original_tag(spec, where, is_root)
        if trigger is None:
            return
        if not isinstance(spec, yaml.MappingNode):
            self.problems.add(spec, where, "a node is a mapping (task_name, slurm_params, next)")
            return
        sweep = spec.tag == "!param_sweep"
        items = [(str(key.value), value) for key, value in spec.value]
        self.check_keys(items, _SWEEP_KEYS if sweep else _ORIGINAL_KEYS, where)
        fields = dict(items)
        if "task_name" not in fields:
            self.problems.add(spec, where, "a node needs a task_name (the managed task)")
            return
        managed = self.text(fields["task_name"], where + ".task_name") or ""
        name = managed
        number = 2
        while name in nodes:  # the same managed task twice: the second is <name>#2
            name = "%s#%d" % (managed, number)
            number += 1

        def read(key: str, reader: Any, default: Any) -> Any:
            return reader(fields[key], "%s.%s" % (name, key)) if key in fields else default

        slurm = read("slurm_params", self.slurm, {})
        if sweep and "param_matrix" not in fields:
            self.problems.add(spec, name, "a !param_sweep needs a param_matrix")
        nodes[name] = Node(
            name,
            managed,
            parents=parents,
            trigger=trigger,
            slurm=slurm,
            # A !param_sweep's own slurm_params replace the command line's.
            slurm_replaces=bool(sweep and slurm),
            run_dependent=read("run_dependent", self.flag, True),
            sweep=read("param_matrix", self.sweep, {}) if sweep else {},
            line=spec.start_mark.line + 1,
        )
        self._composed[id(spec)] = name
        self.node_marks[name] = spec
        children = fields.get("next")
        if children is None:
            return
        if not isinstance(children, yaml.SequenceNode):
            self.problems.add(children, name + ".next", "expected a list of nodes")
            return
        for child in children.value:
            self._original_node(child, (name,), nodes)


def _walk(node: Any) -> List[Any]:
    import yaml

    found = [node]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found.extend(_walk(key))
            found.extend(_walk(value))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found.extend(_walk(item))
    return found


def _override_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_graph(dag: Dag, problems: _Problems, marks: Mapping[str, Any]) -> None:
    """Unknown parents and cycles, named with their lines."""
    for node in dag.nodes.values():
        for parent in node.parents:
            if parent not in dag.nodes:
                close = difflib.get_close_matches(parent, list(dag.nodes), n=1)
                hint = "; did you mean %r?" % close[0] if close else ""
                where = node.name + ".after"
                problems.add(marks.get(node.name), where, "no node named %r%s" % (parent, hint))
    for cycle in _cycles(dag):
        lines = ", ".join("%s (line %s)" % (name, dag.nodes[name].line) for name in cycle)
        problems.add(marks.get(cycle[0]), cycle[0], "a cycle: %s -> %s" % (lines, cycle[0]))


def _cycles(dag: Dag) -> List[List[str]]:
    """Each cycle once, as a path of node names."""
    found: List[List[str]] = []
    seen_cycles = set()
    state: Dict[str, int] = {}
    path: List[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for child in dag.children(name):
            if state.get(child) == 1:
                cycle = path[path.index(child) :]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    found.append(cycle)
            elif child not in state:
                visit(child)
        path.pop()
        state[name] = 2

    for name in dag.nodes:
        if name not in state:
            visit(name)
    return found
