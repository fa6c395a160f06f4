"""What an execution was run with: LUTE's versions always, a Task repository's state on request.

The database records it in the execution's ``versions`` (JSON). Besides the versions the
launch plan knows (lute-runtime, Python, pydantic), every execution gets those of the
three LUTE distributions installed here. A model that opts in, as the original LUTE's
``version_location``, also gets the git commit of a repository and its uncommitted
changes::

    class FitParameters(TaskParameters):
        class Config(TaskParameters.Config):
            version_location = True  # the repository holding the Task's code
            # or: version_location = "/sdf/group/mec/analysis"  (a path inside it)

Recording never fails a run: a missing ``git``, a path outside any repository or a
``git`` that takes too long is recorded as the repository's ``error``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

__all__ = ["MAX_DIFF_CHARS", "execution_versions", "lute_versions", "repository_state"]

#: Characters of a repository's diff kept (a bigger one is cut, and says so).
MAX_DIFF_CHARS = 1_000_000
_GIT_TIMEOUT = 20.0
_DISTRIBUTIONS = ("lute-runtime", "lute-models", "lute-executor")


def lute_versions() -> Dict[str, Optional[str]]:
    """The versions of LUTE's distributions installed here (``None``: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    found: Dict[str, Optional[str]] = {}
    for name in _DISTRIBUTIONS:
        try:
            found[name.replace("-", "_")] = version(name)
        except PackageNotFoundError:
            found[name.replace("-", "_")] = None
    return found


def _git(directory: str, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "core.fileMode=false", *args],
        cwd=directory,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=_GIT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OSError("git %s: %s" % (args[0], message[-1] if message else done.returncode))
    return done.stdout.decode("utf-8", "replace")


def repository_state(location: str) -> Dict[str, Any]:
    """The git state of the repository holding ``location`` (a file or directory).

    Returns:
        ``path`` (the repository's top directory), ``commit``, ``dirty`` (uncommitted
        changes, untracked files included), ``diff`` (``git diff HEAD``: every change to
        tracked files, staged or not, cut at :data:`MAX_DIFF_CHARS`) and ``untracked``
        (new files); or ``path`` and ``error`` when it cannot be read.
    """
    directory = location if os.path.isdir(location) else os.path.dirname(location)
    directory = os.path.abspath(directory or ".")
    try:
        top = _git(directory, "rev-parse", "--show-toplevel").strip()
        commit = _git(top, "rev-parse", "HEAD").strip()
        diff = _git(top, "diff", "HEAD", "--no-color")
        untracked: List[str] = [
            line[3:]
            for line in _git(top, "status", "--porcelain", "--untracked-files=all").splitlines()
            if line.startswith("?? ")
        ]
    except (OSError, subprocess.SubprocessError) as error:
        return {"path": directory, "error": "%s: %s" % (type(error).__name__, error)}
    state: Dict[str, Any] = {
        "path": top,
        "commit": commit,
        "dirty": bool(diff or untracked),
        "diff": diff[:MAX_DIFF_CHARS],
        "untracked": untracked,
    }
    if len(diff) > MAX_DIFF_CHARS:
        state["diff_truncated"] = len(diff)
    return state


def _task_module_file(task_name: str) -> Optional[str]:
    """Where the Task's module is, found without importing it (``None``: not here)."""
    from importlib.util import find_spec

    from lute.tasks import TaskNotFoundError, locate_task

    try:
        module = locate_task(task_name).partition(":")[0]
        spec = find_spec(module)
    except (TaskNotFoundError, ImportError, ValueError):
        return None
    return getattr(spec, "origin", None) if spec is not None else None


def version_location(model: Any, task_name: str) -> Optional[str]:
    """The path whose repository a model asks to record (its ``version_location``).

    ``True``: the Task's module (the model's when the Task cannot be found here); a
    relative path: from the directory of the model's module.
    """
    from lute.io.models.options import lute_options

    wanted = lute_options(model).version_location
    if not wanted:
        return None
    model_file = getattr(sys.modules.get(type(model).__module__), "__file__", None)
    if wanted is True:
        return _task_module_file(task_name) or model_file or os.getcwd()
    path = os.path.expanduser(str(wanted))
    if not os.path.isabs(path) and model_file:
        path = os.path.join(os.path.dirname(model_file), path)
    return os.path.abspath(path)


def execution_versions(plan: Any) -> Dict[str, Any]:
    """The ``versions`` record of an execution of ``plan`` (a validated launch plan)."""
    versions: Dict[str, Any] = dict(plan.versions())
    versions.update(lute_versions())
    location = version_location(plan.model, plan.task_name)
    if location is not None:
        versions["task_repository"] = repository_state(location)
    return versions
