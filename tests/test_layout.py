"""The shape of the source tree: module sizes, the import graph, the layering.

Read from the sources with ``ast`` (every ``import`` statement, at module level, inside
functions and under ``TYPE_CHECKING``), so nothing is imported and a lazy import counts
like any other. Modules imported by name at run time count too: the tables given to
``lute._lazy.lazy_attributes`` and the CLI's command table (:data:`NAMED_MODULE_TABLES`).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest

from tests.conftest import ROOT

DISTRIBUTIONS = ("lute-runtime", "lute-models", "lute-executor")  # in layering order
MAX_LINES = 500


def _modules() -> Dict[str, Tuple[str, Path]]:
    """Every module: dotted name -> (distribution, file)."""
    found: Dict[str, Tuple[str, Path]] = {}
    for dist in DISTRIBUTIONS:
        src = ROOT / "packages" / dist / "src"
        for path in sorted(src.rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = (dist, path)
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return name in MODULES and MODULES[name][1].name == "__init__.py"


def _imported(module: str, tree: ast.AST) -> Iterator[str]:
    """The LUTE modules that ``module`` imports, resolved to the modules that run."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = "%s.%s" % (base, alias.name)
                yield candidate if candidate in MODULES else base


#: Module-level tables that name modules imported later with ``importlib``: module ->
#: the table's name (every string in it that names a LUTE module is an edge).
NAMED_MODULE_TABLES = {"lute.execution.cli._parser": "COMMANDS"}
#: Tables of submodule names (relative to the package) that the package imports on
#: first use of the attribute: package -> the table's name.
SUBMODULE_TABLES = {"lute.io.models": "_SUBMODULES"}
#: Every module that imports a module by a computed name, and how the test sees it.
DYNAMIC_IMPORTS = {
    "lute._lazy": "lazy_attributes: the sources tables, found at each call",
    "lute.execution.cli._parser": "COMMANDS (NAMED_MODULE_TABLES)",
    "lute.io.models": "_SUBMODULES (SUBMODULE_TABLES)",
    "lute.io.models.registry": "entry points and model references: plug-ins, not LUTE",
    "lute.tasks.run": "the hand-off's model reference: the Task's own module",
}


def _evaluated(module: str, tree: ast.Module, node: ast.AST) -> Any:
    """``node`` evaluated with the module's earlier module-level constants (the tables
    built for ``lazy_attributes``: literals, comprehensions, ``__name__`` + ``"._x"``)."""
    builtins = {"dict": dict, "frozenset": frozenset}
    names: Dict[str, Any] = {"__name__": module, "__builtins__": builtins}
    for statement in tree.body:
        target = value = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                names[target.id] = eval(compile(ast.Expression(value), module, "eval"), names)
            except Exception:  # not a constant table (a call, an import …): not needed
                pass
    return eval(compile(ast.Expression(node), module, "eval"), names)  # type: ignore[arg-type]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.items():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


def _named_modules(module: str, tree: ast.Module) -> Iterator[str]:
    """The modules ``module`` imports by name at run time: those of the sources it gives
    ``lazy_attributes(__name__, sources)`` and those of its :data:`NAMED_MODULE_TABLES`."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "lazy_attributes"
        ):
            assert len(node.args) == 2, "%s:%d: lazy_attributes(name, sources)" % (
                module,
                node.lineno,
            )
            sources = _evaluated(module, tree, node.args[1])
            yield from (name for name in sources.values() if name.startswith("lute"))
    table = NAMED_MODULE_TABLES.get(module)
    if table is not None:
        value = _table(module, tree, table)
        named = [text for text in _strings(_evaluated(module, tree, value)) if text in MODULES]
        assert named, "%s.%s names no module any more" % (module, table)
        yield from named
    table = SUBMODULE_TABLES.get(module)
    if table is not None:
        value = _table(module, tree, table)
        named = ["%s.%s" % (module, text) for text in _strings(_evaluated(module, tree, value))]
        assert named and set(named) <= set(MODULES), "%s.%s: %s" % (module, table, named)
        yield from named


def _table(module: str, tree: ast.Module, table: str) -> ast.expr:
    """The value assigned to the module-level name ``table``."""
    [value] = [
        statement.value
        for statement in tree.body
        if isinstance(statement, (ast.Assign, ast.AnnAssign))
        and table
        in [
            target.id
            for target in getattr(statement, "targets", [getattr(statement, "target", None)])
            if isinstance(target, ast.Name)
        ]
    ]
    assert value is not None, "%s.%s has no value" % (module, table)
    return value


def _graph() -> Dict[str, Set[str]]:
    """module -> the LUTE modules whose code runs when it imports them.

    Importing ``a.b.c`` runs the ``__init__`` of each regular package on the way; those
    edges are added too, except to packages that hold the importing module itself
    (they are already running by then).
    """
    graph: Dict[str, Set[str]] = {}
    for name, (_dist, path) in MODULES.items():
        edges: Set[str] = set()
        tree = ast.parse(path.read_text(), str(path))
        for target in [*_imported(name, tree), *_named_modules(name, tree)]:
            if not target.startswith("lute"):
                continue
            while target and target not in MODULES:  # a name inside a module
                target = target.rpartition(".")[0]
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                step = ".".join(parts[:i])
                ancestor_of_self = name == step or name.startswith(step + ".")
                if step in MODULES and step != name and not ancestor_of_self:
                    edges.add(step)
        graph[name] = edges
    return graph


GRAPH = _graph()


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_is_under_the_size_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, (_dist, path) in MODULES.items()}
    print("\n".join("%5d %s" % (lines, name) for name, lines in sorted(sizes.items())))
    too_big = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not too_big, "modules over %d lines (split them by concern): %s" % (MAX_LINES, too_big)


def test_the_import_graph_has_no_cycle() -> None:
    assert _cycles(GRAPH) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_imported_by_name_are_edges() -> None:
    assert "lute.io.db._latest_entry" in GRAPH["lute.io.db"]  # a literal table
    assert "lute.io.elog._summary" in GRAPH["lute.io.elog"]  # "%s.%s" % (__name__, module)
    assert "lute.execution.environments.probe" in GRAPH["lute.execution.environments"]
    assert "lute.execution.cli._run" in GRAPH["lute.execution.cli._parser"]  # COMMANDS
    assert "lute.io.models.compat" in GRAPH["lute.io.models"]  # _SUBMODULES


def test_every_import_by_a_computed_name_is_seen() -> None:
    """A new ``__import__``/``import_module`` would hide its edges from the graph."""
    found = set()
    for name, (_dist, path) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            called = getattr(node, "func", None)
            if getattr(called, "id", getattr(called, "attr", None)) in (
                "__import__",
                "import_module",
            ):
                found.add(name)
    assert found == set(DYNAMIC_IMPORTS), "say how the graph sees each: DYNAMIC_IMPORTS"


def test_a_facade_private_cycle_through_a_lazy_attribute_is_found() -> None:
    facade = ast.parse(
        "from lute._lazy import lazy_attributes\n"
        "_MODULES = {'read_latest_db_entry': '_latest_entry'}\n"
        "__getattr__ = lazy_attributes(\n"
        "    __name__, {name: '%s.%s' % (__name__, m) for name, m in _MODULES.items()}\n"
        ")\n"
    )
    private = ast.parse("from lute.io.db import Database\n")
    graph = {
        "lute.io.db": set(_named_modules("lute.io.db", facade)),
        "lute.io.db._latest_entry": set(_imported("lute.io.db._latest_entry", private)),
    }
    assert graph["lute.io.db"] == {"lute.io.db._latest_entry"}
    assert _cycles(graph) == [["lute.io.db", "lute.io.db._latest_entry"]]


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")  # not __main__


def test_no_private_module_imports_its_facade() -> None:
    """Private modules import their siblings, never the package whose facade they serve."""
    offenders = []
    for name, (_dist, path) in MODULES.items():
        parts = name.split(".")
        own = {
            ".".join(parts[:i])
            for i in range(1, len(parts))
            if _is_package(".".join(parts[:i])) and any(_private(p) for p in parts[i:])
        }
        tree = ast.parse(path.read_text(), str(path))
        for target in [*_imported(name, tree), *_named_modules(name, tree)]:
            if target in own:
                offenders.append("%s imports %s" % (name, target))
    assert offenders == []


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
def test_distributions_import_only_those_below_them(dist: str) -> None:
    allowed = set(DISTRIBUTIONS[: DISTRIBUTIONS.index(dist) + 1])
    wrong = sorted(
        "%s -> %s (%s)" % (name, target, MODULES[target][0])
        for name, targets in GRAPH.items()
        if MODULES[name][0] == dist
        for target in targets
        if MODULES[target][0] not in allowed
    )
    assert wrong == []


def test_namespace_packages_have_no_init() -> None:
    for dist in DISTRIBUTIONS:
        for namespace in ("lute", "lute/io", "lute/execution"):
            assert not (ROOT / "packages" / dist / "src" / namespace / "__init__.py").exists()


def test_every_regular_package_belongs_to_one_distribution() -> None:
    owners: Dict[str, Set[str]] = {}
    for dist in DISTRIBUTIONS:
        for init in (ROOT / "packages" / dist / "src").rglob("__init__.py"):
            owners.setdefault(str(init.parent.relative_to(ROOT / "packages" / dist)), set()).add(
                dist
            )
    assert {package: dists for package, dists in owners.items() if len(dists) > 1} == {}
