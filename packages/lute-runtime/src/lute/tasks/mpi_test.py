"""Built-in MPI Tasks for testing MPI execution end to end.

``MPITest``: each rank sums its share of ``0 .. total_items-1``, rank 0 reduces the
partial sums and reports the total. ``fail_on_rank`` makes one rank raise,
``hang_on_rank`` makes one rank block forever (to exercise timeouts), ``sleep_seconds``
slows every rank down.

``TestMultiNodeCommunication`` (the original LUTE's): every rank says where it runs and
sends an array or a figure, so that a job spread over several nodes shows that each of
them reaches the Executor.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from lute.execution.ipc import Message
from lute.io.parameters import RowIds
from lute.tasks.task import Task

__all__ = ["MPITest", "TestMultiNodeCommunication"]


class MPITest(Task):
    """Distributed sum over MPI ranks."""

    def __init__(self, *, params: Any, use_mpi: bool = True, row_ids: Optional[RowIds] = None):
        super().__init__(params=params, use_mpi=True, row_ids=row_ids)

    def _run(self) -> None:
        params = self._task_parameters
        total_items = int(params.total_items)
        share = range(self.rank, total_items, self._world_size)
        partial = sum(share)
        self._report_to_executor(
            Message(contents="rank %d summed %d items" % (self.rank, len(share)))
        )
        if float(getattr(params, "sleep_seconds", 0.0)) > 0:
            time.sleep(float(params.sleep_seconds))
        if getattr(params, "fail_on_rank", None) == self.rank:
            raise RuntimeError("MPITest: failing on rank %d as requested" % self.rank)
        if getattr(params, "hang_on_rank", None) == self.rank:
            while True:  # stays until the Executor's timeout ends the job
                time.sleep(3600)
        total = self._mpi_comm.reduce(partial, root=0)
        if self.rank == 0:
            expected = total_items * (total_items - 1) // 2
            self._result.summary = {
                "ranks": str(self._world_size),
                "total": str(total),
                "correct": str(total == expected),
            }
            self._result.payload = {"total": total, "ranks": self._world_size}


class TestMultiNodeCommunication(Task):
    """Every rank reports its host and sends an array (or a figure) to the Executor."""

    def __init__(self, *, params: Any, use_mpi: bool = True, row_ids: Optional[RowIds] = None):
        super().__init__(params=params, use_mpi=True, row_ids=row_ids)

    def _run(self) -> None:
        import socket

        params = self._task_parameters
        self._report_to_executor(
            Message(
                contents="Rank %d of %d sending message from %s"
                % (self.rank, self._world_size, socket.gethostname())
            )
        )
        if params.send_obj == "plot":
            self._report_to_executor(Message(contents=_figure(self.rank)))
        else:
            self._report_to_executor(Message(contents=_array(int(params.arr_size or 512))))
        if self.rank == 0:
            self._result.summary = "Test Finished."


def _array(size: int) -> Any:
    """Random numbers: a numpy array where numpy is installed, else an ``array.array``."""
    try:
        import numpy
    except ImportError:
        import array
        import random

        return array.array("d", (random.random() for _ in range(size)))
    return numpy.random.default_rng().random(size)


def _figure(rank: int) -> Any:
    """A matplotlib figure where matplotlib is installed, else the same plot as HTML."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "<p>Multi-Node Communication Test: rank %d (matplotlib absent)</p>" % rank
    figure, axes = plt.subplots(1, 1)
    axes.plot(range(50), _array(50), label="Test")
    axes.set_title("Multi-Node Communication Test")
    return figure
