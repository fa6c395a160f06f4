"""Managed tasks: named Executors, the names users give to ``lute-exec run -t``.

A facility package adds its own without editing LUTE, through the
``lute.managed_tasks`` entry-point group (name = managed task, value = an Executor)::

    [project.entry-points."lute.managed_tasks"]
    SpectrumFitter = "mec_analysis.managed:SpectrumFitter"

A name with a sweep suffix, as the original LUTE's parameter sweeps produce
(``Tester_0``), is the managed task without it (``Tester``) run on the sweep point's
config section (``Test_0``).
"""

from __future__ import annotations

from typing import Dict, List

from lute.execution.executor import BaseExecutor, Executor, MPIExecutor

__all__ = [
    "BinaryErrTester",
    "BinaryTester",
    "MPITester",
    "ManagedTaskNotFound",
    "MultiNodeCommunicationTester",
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

BinaryErrTester: Executor = Executor("TestBinaryErr")
"""Runs ``TestBinaryErr``: a third-party executable that fails (the run is FAILED)."""

MPITester: MPIExecutor = MPIExecutor("MPITest")
"""Runs ``MPITest`` under mpirun (or srun inside a SLURM allocation)."""

MultiNodeCommunicationTester: MPIExecutor = MPIExecutor("TestMultiNodeCommunication")
"""Runs ``TestMultiNodeCommunication``: every rank, on whichever node, reports back."""


class ManagedTaskNotFound(LookupError):
    """No managed task has the requested name."""


def _builtin() -> Dict[str, BaseExecutor]:
    return {name: value for name, value in globals().items() if isinstance(value, BaseExecutor)}


# Each built-in is named once, here, as it is registered: a lookup never writes onto the
# shared definition (two runs in one process may look one up under different names).
for _name, _executor in _builtin().items():
    _executor.name = _name
del _name, _executor


def _named(executor: BaseExecutor, name: str) -> BaseExecutor:
    """``executor`` itself when it already has ``name``, else a copy that has it (hooks,
    tasklets and environment shared): an installed Executor may be registered under
    several names, and the object stays the facility's, untouched."""
    if executor.name == name:
        return executor
    import copy

    renamed = copy.copy(executor)
    renamed.name = name
    return renamed


def _entry_points() -> Dict[str, object]:
    from lute.tasks import entry_points_in

    return entry_points_in(ENTRY_POINT_GROUP)


def managed_task_names() -> List[str]:
    """Every managed task name available here, built-in and installed."""
    return sorted(set(_builtin()) | set(_entry_points()))


def get_managed_task(name: str) -> BaseExecutor:
    """The Executor registered as ``name``.

    A name with a sweep suffix that is not registered itself (``Tester_0``) gives the
    managed task without it (``Tester``), as a copy named ``Tester_0`` whose Task reads
    the config section ``Test_0``.

    Raises:
        ManagedTaskNotFound: Unknown name; the message lists the closest names.
    """
    from lute.io.config import sweep_parts

    base, suffix = sweep_parts(name)
    if suffix is not None and name not in _builtin() and name not in _entry_points():
        try:
            swept = get_managed_task(base)
        except ManagedTaskNotFound:
            pass
        else:
            return swept.for_sweep_point(name, suffix)
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
    return _named(executor, name)
