"""``lute-exec init NAME``: a facility package that installs and runs at once.

It writes a Task, its parameter model, a managed task, the three entry points that
register them, a config and a test, so that ``pip install -e NAME`` followed by
``lute-exec run -c NAME/config.yaml -t <Task>Runner`` works before anything is edited.
The Task module imports only lute-runtime, so the same package also serves a Task
environment without pydantic. The tutorial ("Your first Task") starts from it.
"""

from __future__ import annotations

import argparse
import keyword
import os
import re
import sys
from typing import Any, Dict, List, Optional

from lute.execution.cli._common import error

__all__ = ["Scaffold", "add_parser", "files_for", "run"]

_DISTRIBUTION = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$|^[A-Za-z]$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_PYPROJECT = """\
# $name: LUTE Tasks, made by `lute-exec init`. Install it where lute-exec runs (the
# parameter model and the managed task are used there) and where the Task runs (often
# the same environment): `python -m pip install -e $name`.
[build-system]
requires = ["hatchling>=1.27"]
build-backend = "hatchling.build"

[project]
name = "$name"
version = "0.1.0"
description = "LUTE Task $task"
requires-python = ">=3.8"
# What the Task needs where it runs; lute-exec's side has lute-executor already.
dependencies = [
    "lute-runtime>=0.1",
]

# The Task class, by Task name.
[project.entry-points."lute.tasks"]
$task = "$package.tasks:$task"

# The Task's parameter model, by Task name.
[project.entry-points."lute.models"]
$task = "$package.models:${task}Parameters"

# The managed tasks: the names `lute-exec run -t` accepts.
[project.entry-points."lute.managed_tasks"]
$managed = "$package.managed:$managed"

[tool.hatch.build.targets.wheel]
packages = ["src/$package"]
"""

_INIT = '''\
"""$name: LUTE Tasks (Task $task, managed task $managed)."""
'''

_TASKS = '''\
"""$task: a LUTE Task. Replace what ``_run`` does with your analysis.

Only lute-runtime (standard library only) is imported here, so the Task also runs in an
environment without pydantic: an older Python, a facility's software stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lute.execution.ipc import Message
from lute.tasks.task import Task

if TYPE_CHECKING:  # type checkers see the model; at run time a read-only stand-in of it
    from $package.models import ${task}Parameters

__all__ = ["$task"]


class $task(Task):
    """Say the configured greeting; the summary records what was said."""

    def _run(self) -> None:
        params: ${task}Parameters = self._task_parameters
        for _ in range(params.repeat):
            self._report_to_executor(Message(contents=params.greeting))
        self._result.summary = {"greeting": params.greeting, "repeat": str(params.repeat)}
        self._result.payload = params.greeting
'''

_MODELS = '''\
"""Parameter model of $task: what its section of the config may hold.

Used where lute-exec runs (it needs lute-models, that is pydantic); the Task gets the
validated values as ``self._task_parameters``. ``lute-exec describe $task`` lists them.
"""

from __future__ import annotations

from lute.io.models.base import Field, TaskParameters

__all__ = ["${task}Parameters"]


class ${task}Parameters(TaskParameters):
    """Parameters of ``$task``."""

    greeting: str = Field("Hello", description="What the Task says.")
    repeat: int = Field(1, gt=0, description="How many times it says it.")
'''

_MANAGED = '''\
"""Managed tasks of $package: the names ``lute-exec run -t`` accepts.

A managed task is an Executor: which Task it runs, and how (environment, hooks,
tasklets). Each is registered under ``lute.managed_tasks`` in pyproject.toml.
"""

from __future__ import annotations

from lute.execution.executor import Executor

$managed = Executor("$task")
"""Runs ``$task`` in lute-exec's own environment."""
'''

_CONFIG = """\
# A LUTE config: the header (what every Task of the analysis shares), a line `---`, then
# one section per Task. Run: lute-exec run -c config.yaml -t $managed
title: "$name"
experiment: "TST00001"
run: 1
# Relative paths are taken from this file's directory.
work_dir: "./lute-work"
---
$task:
  greeting: "Hello from $task"
  repeat: 2
"""

_TEST = '''\
"""$managed runs $task on config.yaml through the real lute-exec."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
LUTE_EXEC = [sys.executable, "-m", "lute.execution.cli"]


def test_${package}_runs(tmp_path: Path) -> None:
    work_dir = "work_dir=%s" % tmp_path  # a header override: keep the package clean
    done = subprocess.run(
        [*LUTE_EXEC, "run", "-c", str(CONFIG), "-t", "$managed", work_dir],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [*LUTE_EXEC, "db", "list", "-w", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    [execution] = json.loads(listed.stdout)
    assert execution["status"] == "COMPLETED"
'''

_GITIGNORE = """\
lute-work/
__pycache__/
*.egg-info/
"""


class Scaffold:
    """The names of a new facility package.

    Args:
        name: Distribution name (``beamstats``, ``mec-analysis``).
        task: Task class name; default: ``name`` in CamelCase.
        managed: Managed task name; default: ``<task>Runner``.

    Raises:
        ValueError: A name that cannot be used; the message says why.
    """

    def __init__(self, name: str, task: Optional[str] = None, managed: Optional[str] = None):
        if not _DISTRIBUTION.match(name):
            raise ValueError(
                "%r is not a package name: use letters, digits, '-', '_' or '.', starting "
                "with a letter" % name
            )
        self.name = name
        self.package = re.sub(r"[-.]+", "_", name).lower()
        if keyword.iskeyword(self.package) or self.package in ("lute", "test", "tests"):
            raise ValueError("%r cannot be the name of a Python package here" % self.package)
        self.task = task or "".join(
            part[:1].upper() + part[1:] for part in re.split(r"[-_.]+", name)
        )
        self.managed = managed or self.task + "Runner"
        for what, value in (("Task", self.task), ("managed task", self.managed)):
            if not _IDENTIFIER.match(value) or keyword.iskeyword(value):
                raise ValueError("%s name %r is not a Python identifier" % (what, value))
        if self.task == self.managed:
            raise ValueError("the managed task needs a name of its own, not the Task's")

    def values(self) -> Dict[str, str]:
        """What the templates are filled with."""
        return {
            "name": self.name,
            "package": self.package,
            "task": self.task,
            "managed": self.managed,
        }


def files_for(scaffold: Scaffold) -> Dict[str, str]:
    """Every file of the package, by path relative to its directory, with its text."""
    package = "src/%s/" % scaffold.package
    templates = {
        "pyproject.toml": _PYPROJECT,
        "config.yaml": _CONFIG,
        ".gitignore": _GITIGNORE,
        package + "__init__.py": _INIT,
        package + "tasks.py": _TASKS,
        package + "models.py": _MODELS,
        package + "managed.py": _MANAGED,
        "tests/test_%s.py" % scaffold.package: _TEST,
    }
    values = scaffold.values()
    from string import Template

    return {path: Template(text).substitute(values) for path, text in templates.items()}


def add_parser(sub: Any) -> None:
    """Add ``init`` to the subcommands."""
    parser = sub.add_parser(
        "init",
        help="create a facility package with a first Task",
        description="Create a package with a Task, its parameter model, a managed task, "
        "the entry points registering them, a config and a test. It installs and runs "
        "as it is: install it (pip install -e DIR), then lute-exec run -c DIR/config.yaml "
        "-t MANAGED.",
        epilog="example:\n"
        "  lute-exec init beamstats --task BeamStats\n"
        "  python -m pip install -e beamstats\n"
        "  lute-exec run -c beamstats/config.yaml -t BeamStatsRunner",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="the package (distribution) name, e.g. beamstats")
    parser.add_argument("--task", help="the Task's class name (default: NAME in CamelCase)")
    parser.add_argument(
        "--managed", metavar="NAME", help="the managed task's name (default: <Task>Runner)"
    )
    parser.add_argument(
        "-d", "--directory", metavar="DIR", help="where to create it (default: ./NAME)"
    )


def run(args: argparse.Namespace) -> int:
    """Write the package; refuse names already taken and a directory in use."""
    try:
        scaffold = Scaffold(args.name, args.task, args.managed)
    except ValueError as failure:
        return error(str(failure))
    taken = _taken_names(scaffold)
    if taken:
        return error(taken)
    directory = args.directory or args.name
    if os.path.exists(directory) and (not os.path.isdir(directory) or os.listdir(directory)):
        return error("%s already exists and is not empty: choose another -d DIR" % directory)
    written: List[str] = []
    for relative, text in files_for(scaffold).items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    shown = os.path.relpath(directory)
    print(
        "created %s: Task %s, its model %sParameters, managed task %s"
        % (shown, scaffold.task, scaffold.task, scaffold.managed)
    )
    for path in written:
        print("  %s" % os.path.relpath(path))
    import shutil

    install = (
        "uv pip install -p %s -e %s" % (sys.executable, shown)
        if shutil.which("uv")
        else "%s -m pip install -e %s" % (sys.executable, shown)
    )
    print("next:\n  %s" % install)
    print("  lute-exec run -c %s -t %s" % (os.path.join(shown, "config.yaml"), scaffold.managed))
    return 0


def _taken_names(scaffold: Scaffold) -> str:
    """Why the Task or managed task name cannot be used here ("" when it can)."""
    from lute.managed_tasks import managed_task_names
    from lute.tasks import known_tasks

    if scaffold.task in known_tasks():
        return "a Task named %r exists already: choose another with --task" % scaffold.task
    if scaffold.managed in managed_task_names():
        return (
            "a managed task named %r exists already: choose another with --managed"
            % scaffold.managed
        )
    return ""
