"""Managed tasks: named Executors, the names users give to ``lute-exec run -t``.

A facility package adds its own without editing LUTE, through the
``lute.managed_tasks`` entry-point group (name = managed task, value = an Executor)::

    [project.entry-points."lute.managed_tasks"]
    SpectrumFitter = "mec_analysis.managed:SpectrumFitter"
"""

from __future__ import annotations

from typing import Dict, List

from lute.execution.executor import BaseExecutor, Executor, MPIExecutor

__all__ = [
    "BinaryTester",
    "MPITester",
    "ManagedTaskNotFound",
    "ReadTester",
    "SocketTester",
    "Tester",
    "WriteTester",
    "get_managed_task",
    "managed_task_names",
]

ENTRY_POINT_GROUP = "lute.managed_tasks"

Tester: Executor = Executor("Test")
"""Runs the built-in ``Test`` Task (echoes its parameters)."""

SocketTester: Executor = Executor("TestSocket")
"""Runs ``TestSocket``: many arrays over IPC, then a checksummed result."""

WriteTester: Executor = Executor("TestWriteOutput")
"""Runs ``TestWriteOutput``: writes a file and records its path as the result."""

ReadTester: Executor = Executor("TestReadOutput")
"""Runs ``TestReadOutput``: reads the file that ``WriteTester`` recorded."""

BinaryTester: Executor = Executor("TestBinary")
"""Runs ``TestBinary``: a third-party executable launched from its parameter model."""

MPITester: MPIExecutor = MPIExecutor("MPITest")
"""Runs ``MPITest`` under mpirun (or srun inside a SLURM allocation)."""


class ManagedTaskNotFound(LookupError):
    """No managed task has the requested name."""


def _builtin() -> Dict[str, BaseExecutor]:
    return {name: value for name, value in globals().items() if isinstance(value, BaseExecutor)}


def _entry_points() -> Dict[str, object]:
    from lute.tasks import entry_points_in

    return entry_points_in(ENTRY_POINT_GROUP)


def managed_task_names() -> List[str]:
    """Every managed task name available here, built-in and installed."""
    return sorted(set(_builtin()) | set(_entry_points()))


def get_managed_task(name: str) -> BaseExecutor:
    """The Executor registered as ``name``.

    Raises:
        ManagedTaskNotFound: Unknown name; the message lists the closest names.
    """
    executor = _builtin().get(name)
    if executor is None:
        entry_point = _entry_points().get(name)
        if entry_point is None:
            names = managed_task_names()
            import difflib  # only for the error message

            close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
            hint = ("Did you mean: %s? " % ", ".join(close)) if close else ""
            raise ManagedTaskNotFound(
                "no managed task named %r. %sKnown managed tasks: %s (see `lute-exec list`)."
                % (name, hint, ", ".join(names))
            )
        executor = entry_point.load()  # type: ignore[attr-defined]
        if not isinstance(executor, BaseExecutor):
            raise ManagedTaskNotFound(
                "entry point %r in group %s is a %s, not an Executor"
                % (name, ENTRY_POINT_GROUP, type(executor).__name__)
            )
    executor.name = name
    return executor
