"""``MPITest``: a built-in MPI Task for testing MPI execution end to end.

Each rank sums its share of ``0 .. total_items-1``, rank 0 reduces the partial sums and
reports the total. ``fail_on_rank`` makes one rank raise, ``hang_on_rank`` makes one rank
block forever (to exercise timeouts), ``sleep_seconds`` slows every rank down.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from lute.execution.ipc import Message
from lute.io.parameters import RowIds
from lute.tasks.task import Task

__all__ = ["MPITest"]


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
