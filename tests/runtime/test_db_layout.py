"""Shape of the ``lute.io.db`` package: an acyclic import graph and a cheap import."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set, Tuple

import lute.io.db
from lute.io.db import Database

PACKAGE = "lute.io.db"
DIRECTORY = Path(lute.io.db.__file__).parent


def _imports(path: Path) -> Set[str]:
    """Every module an import statement of ``path`` names, at top level or in a function."""
    names: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: relative import"
            assert node.module is not None
            names.add(node.module)
            # "from lute.io import db" and "from lute.io.db import _x" name modules too.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> Dict[str, Set[str]]:
    """Module of the package -> the modules of the package it imports."""
    modules = {
        (PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"): path
        for path in DIRECTORY.glob("*.py")
    }
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_private_modules_never_import_the_facade() -> None:
    graph = _graph()
    assert len(graph) > 5
    offenders = sorted(name for name, deps in graph.items() if name != PACKAGE and PACKAGE in deps)
    assert offenders == []


def test_the_import_graph_of_the_package_has_no_cycle() -> None:
    graph = _graph()
    done: Set[str] = set()

    def visit(name: str, path: Tuple[str, ...]) -> None:
        for dep in sorted(graph[name]):
            assert dep not in path, "import cycle: " + " -> ".join((*path, dep))
            if dep not in done:
                visit(dep, (*path, dep))
        done.add(name)

    for name in sorted(graph):
        visit(name, (name,))


HEAVY = ("lute.io.parameters", "dataclasses", "inspect", "logging", "pickle", "pydantic", "zmq")


def test_importing_the_database_loads_nothing_heavy() -> None:
    """Validators and the Executor's start-up import it; RowIds loads on first write."""
    code = (
        "import sys; before = set(sys.modules); import lute.io.db; "
        "print(' '.join(sorted(m for m in %r if m in sys.modules and m not in before)))" % (HEAVY,)
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_every_public_method_is_documented_on_database() -> None:
    public = [name for name in dir(Database) if not name.startswith("_")]
    assert {"start_execution", "set_status", "latest_result", "close", "path"} <= set(public)
    for name in public:
        assert inspect.getdoc(getattr(Database, name)), name
    assert Database.__module__ == PACKAGE
    assert "Args:" in (Database.__doc__ or "")
