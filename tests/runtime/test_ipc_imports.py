"""The import graph of the lute.execution.ipc package: siblings only, and no cycles."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set, Tuple

import lute.execution.ipc

PACKAGE = "lute.execution.ipc"
ROOT = Path(lute.execution.ipc.__file__).parent
MODULES = sorted(path.stem for path in ROOT.glob("*.py"))


def imported_modules(module: str) -> Set[str]:
    """The package's modules that ``module`` imports, ``__init__`` being the facade.

    Every import statement counts: top level, inside functions, under ``TYPE_CHECKING``.
    """
    tree = ast.parse((ROOT / ("%s.py" % module)).read_text())
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "%s: relative import" % module
            base = node.module or ""
            if base == "lute.execution":
                names = [PACKAGE for alias in node.names if alias.name == "ipc"]
            else:
                # `from lute.execution.ipc import _wire` names a sibling, not the facade
                names = [
                    "%s.%s" % (base, alias.name)
                    if base == PACKAGE and alias.name in MODULES
                    else base
                    for alias in node.names
                ]
        else:
            continue
        for name in names:
            if name == PACKAGE:
                found.add("__init__")
            elif name.startswith(PACKAGE + "."):
                found.add(name[len(PACKAGE) + 1 :].split(".")[0])
    found.discard(module)
    return found


def test_private_modules_never_import_the_facade() -> None:
    offenders = [m for m in MODULES if m != "__init__" and "__init__" in imported_modules(m)]
    assert offenders == []


def test_the_import_graph_is_acyclic() -> None:
    graph: Dict[str, Set[str]] = {module: imported_modules(module) for module in MODULES}
    done: Set[str] = set()

    def visit(module: str, path: Tuple[str, ...]) -> None:
        assert module not in path, "import cycle: %s" % " -> ".join((*path, module))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, (*path, module))
        done.add(module)

    for module in MODULES:
        visit(module, ())


def test_the_modules_the_facade_loads_import_nothing_of_the_package() -> None:
    # Importing lute.execution.ipc must stay cheap (see test_ipc_message.py).
    assert imported_modules("_protocol") == set() and imported_modules("_errors") == set()
