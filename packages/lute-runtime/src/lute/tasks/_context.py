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
    """Send ``message`` to the Executor, or print it to stderr when there is none."""
    if _communicator is not None:
        _communicator.send(message)
        return
    label = message.signal or "message"
    print("[lute %s] %r" % (label, message.contents), file=sys.stderr, flush=True)
