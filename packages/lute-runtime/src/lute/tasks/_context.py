"""Where a Task's reports go: the Executor's channel, or the local log.

The task-side entry point installs the IPC communicator before the Task is built. A
Task constructed anywhere else (a notebook, a unit test) reports to stderr instead, so
``_report_to_executor`` always works.
"""

from __future__ import annotations

import os
import sys

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional

    from lute.execution.ipc import Communicator, Message

_communicator: Optional[Communicator] = None

# Environment variables through which MPI launchers announce the rank of a process.
_RANK_VARIABLES = (
    "OMPI_COMM_WORLD_RANK",
    "PMIX_RANK",
    "PMI_RANK",
    "MV2_COMM_WORLD_RANK",
    "SLURM_PROCID",
)


def set_communicator(communicator: Optional[Communicator]) -> None:
    """Install the channel that Tasks in this process report through."""
    global _communicator
    _communicator = communicator


def get_communicator() -> Optional[Communicator]:
    """The installed channel, or ``None`` when running outside an Executor."""
    return _communicator


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpirun, srun...) started this process, going by the
    variables it sets: then the launcher, not the Executor, is the parent process."""
    return any(name in os.environ for name in _RANK_VARIABLES)


def launcher_rank() -> int:
    """This process's MPI rank as announced by the launcher's environment (0 if none).

    Read from the environment so the rank is known before (and without) importing mpi4py.
    """
    for name in _RANK_VARIABLES:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def report(message: Message) -> None:
    """Send ``message`` to the Executor, or print it to stderr when there is none.

    Once the Executor is gone (the channel says so), reports go to stderr too, so that
    a Task being cancelled for that reason still ends the way a cancelled Task does.
    """
    communicator = _communicator
    if communicator is not None and not _lost(communicator):
        try:
            communicator.send(message)
            return
        except Exception:
            if not _lost(communicator):
                raise
    label = message.signal or "message"
    try:
        print("[lute %s] %r" % (label, message.contents), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        if communicator is None:
            raise
        # The Executor is gone, and with it the reading end of our stderr.


def _lost(communicator: Communicator) -> bool:
    """Whether the channel saw its Executor go (a stand-in channel never does)."""
    return getattr(communicator, "executor_lost", None) is not None
