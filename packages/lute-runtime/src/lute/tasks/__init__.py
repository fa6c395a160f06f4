"""LUTE Tasks: the Task base classes, dataclasses, built-in Tasks and their lookup."""

from __future__ import annotations

import sys

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Optional, Tuple, Type

    from lute.tasks.task import Task

__all__ = ["TaskNotFoundError", "entry_points_in", "import_task", "known_tasks", "locate_task"]

ENTRY_POINT_GROUP = "lute.tasks"

# Where each built-in Task is defined (``module:Class``), known without importing it.
# import_task below imports them; keep the two in step (a test checks it).
BUILTIN_TASK_CLASSES = {
    "Test": "lute.tasks.test:Test",
    "TestSocket": "lute.tasks.test:TestSocket",
    "TestWriteOutput": "lute.tasks.test:TestWriteOutput",
    "TestReadOutput": "lute.tasks.test:TestReadOutput",
    "TestBinary": "lute.tasks.test:TestBinary",
    "TestBinaryErr": "lute.tasks.test:TestBinaryErr",
    "MPITest": "lute.tasks.mpi_test:MPITest",
    "TestMultiNodeCommunication": "lute.tasks.mpi_test:TestMultiNodeCommunication",
}
# Built-in Tasks, listed for error messages without importing them.
BUILTIN_TASKS = tuple(BUILTIN_TASK_CLASSES)


class TaskNotFoundError(ImportError):
    """No built-in Task and no installed entry point has the requested name."""


# (sys.path with each entry's mtime, group) -> its entry points. Reading every installed
# distribution's metadata costs ~10 ms; checking a workflow or a submission of hundreds
# of runs asks for the same groups hundreds of times.
_ENTRY_POINTS: Dict[Tuple[Any, ...], Dict[str, Any]] = {}


def _installed_state() -> Tuple[Any, ...]:
    """What decides which distributions are found: the path, and when each of its
    directories last changed (installing a package adds its ``.dist-info`` to one)."""
    import os

    state: List[Tuple[str, Optional[int]]] = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def entry_points_in(group: str) -> Dict[str, Any]:
    """Installed entry points of ``group``, by name (handles the 3.8-3.13 APIs).

    Shared by the lookups of Tasks, models and managed tasks; read again whenever the
    path or one of its directories changed.
    """
    key = (_installed_state(), group)
    found = _ENTRY_POINTS.get(key)
    if found is not None:
        return dict(found)
    from importlib import metadata

    eps = metadata.entry_points()
    if hasattr(eps, "select"):  # 3.10+
        found = {ep.name: ep for ep in eps.select(group=group)}
    else:  # 3.8/3.9: a dict of group -> list
        found = {ep.name: ep for ep in eps.get(group, [])}  # type: ignore[attr-defined]
    for old in [old for old in _ENTRY_POINTS if old[0] != key[0]]:  # keep the newest state
        del _ENTRY_POINTS[old]
    _ENTRY_POINTS[key] = found
    return dict(found)


def _entry_points() -> Dict[str, Any]:
    return entry_points_in(ENTRY_POINT_GROUP)


def known_tasks() -> List[str]:
    """Names of every Task ``import_task`` can find here."""
    return sorted(set(BUILTIN_TASKS) | set(_entry_points()))


def import_task(task_name: str) -> Type[Task]:
    """Import and return the Task class called ``task_name``.

    Built-in Tasks are found by name; other Tasks are found through entry points in
    group ``lute.tasks``, so a facility package adds Tasks by being installed.

    Raises:
        TaskNotFoundError: No such Task here; the message lists the known ones.
    """
    if task_name == "Test":
        from lute.tasks.test import Test

        return Test
    if task_name == "TestSocket":
        from lute.tasks.test import TestSocket

        return TestSocket
    if task_name == "TestWriteOutput":
        from lute.tasks.test import TestWriteOutput

        return TestWriteOutput
    if task_name == "TestReadOutput":
        from lute.tasks.test import TestReadOutput

        return TestReadOutput
    if task_name == "TestBinary":
        from lute.tasks.test import TestBinary

        return TestBinary
    if task_name == "TestBinaryErr":
        from lute.tasks.test import TestBinaryErr

        return TestBinaryErr
    if task_name == "MPITest":
        from lute.tasks.mpi_test import MPITest

        return MPITest
    if task_name == "TestMultiNodeCommunication":
        from lute.tasks.mpi_test import TestMultiNodeCommunication

        return TestMultiNodeCommunication

    entry_point = _entry_points().get(task_name)
    if entry_point is None:
        raise _not_found(task_name)
    task_class = entry_point.load()  # type: ignore[attr-defined]
    return task_class  # type: ignore[no-any-return]


def locate_task(task_name: str) -> str:
    """Where Task ``task_name`` is defined, as ``module:Class``, without importing it.

    The module is looked up (:func:`importlib.util.find_spec`, which imports only its
    parent packages), never executed: the Executor checks a Task in its own interpreter
    this way, so that no Task code (an ``MPI_Init`` at import, a GPU context, gigabytes
    of imports) runs inside the Executor.

    Raises:
        TaskNotFoundError: No such Task, or its module cannot be found.
    """
    reference = BUILTIN_TASK_CLASSES.get(task_name)
    if reference is None:
        entry_point = _entry_points().get(task_name)
        if entry_point is None:
            raise _not_found(task_name)
        # "package.module:Class [extra]": the extras say nothing about where it is
        reference = entry_point.value.split("[", 1)[0].strip()  # type: ignore[attr-defined]
    module = reference.partition(":")[0].strip()
    from importlib.util import find_spec

    try:
        found = find_spec(module) is not None
    except (ImportError, ValueError) as error:  # a parent package failed to import
        raise TaskNotFoundError(
            "Task %r is defined in %s, which cannot be found: %s: %s"
            % (task_name, module, type(error).__name__, error)
        ) from error
    if not found:
        raise TaskNotFoundError(
            "Task %r is defined in %s, but no module of that name is installed in this "
            "environment (%s)" % (task_name, module, sys.executable)
        )
    return reference


def _not_found(task_name: str) -> TaskNotFoundError:
    import difflib  # only for the error message: keeps Task start-up lean

    known = known_tasks()
    close = difflib.get_close_matches(task_name, known, n=3)
    hint = (" Did you mean %s?" % " or ".join(close)) if close else ""
    return TaskNotFoundError(
        "No Task named %r in this environment (%s).%s Known Tasks: %s. A facility "
        "package registers more under the %r entry-point group."
        % (task_name, sys.executable, hint, ", ".join(known), ENTRY_POINT_GROUP)
    )
