"""A batch job's claim of its QUEUED execution, checked and recorded before the run starts.

``lute-exec submit`` and ``lute-exec workflow submit`` write batch scripts that run
``lute-exec run --claim ID --db PATH``. Knowing the database before the config is read
lets the job

- refuse to run an execution of a workflow whose trigger rule does not hold for its own
  parents (SLURM's dependencies are coarser than the rule, and treat a job it has
  forgotten as done): the execution is recorded CANCELLED, "upstream failed";
- record why an execution never started (its config no longer validates, its Task's
  environment is broken) on its QUEUED row, instead of leaving the row QUEUED for
  ``status`` to guess from SLURM.
"""

from __future__ import annotations

import time
from typing import Optional

__all__ = ["record_not_started", "refusal"]

#: How long a job waits for a parent execution the database still shows going on
#: (its Executor died and is not yet known to be LOST) before it refuses to run.
PARENT_WAIT = 45.0


def refusal(db_path: str, execution_id: int, *, wait: float = PARENT_WAIT) -> Optional[str]:
    """Why the queued execution must not run (it is then recorded CANCELLED), or ``None``.

    Raises:
        lute.io.db.DatabaseError: The database cannot be read or written.
    """
    from lute.io.db import Database

    deadline = time.monotonic() + wait
    with Database(db_path) as db:
        while True:
            upstream = db.upstream(execution_id)
            if upstream is None:
                return None
            decided = upstream.verdict()
            if decided != "wait" or time.monotonic() >= deadline:
                return db.refuse_if_upstream_failed(execution_id)
            time.sleep(1.0)


def record_not_started(db_path: str, execution_id: int, why: str, status: str = "FAILED") -> None:
    """Record ``status`` (FAILED or CANCELLED), with ``why``, on the execution if it is
    still QUEUED; never raises (the failure being reported matters more)."""
    from lute.io.db import Database, DatabaseError

    try:
        with Database(db_path) as db:
            db.set_status(
                execution_id,
                status,
                error="the job did not start the run: %s" % why,
                if_status="QUEUED",
            )
    except (DatabaseError, OSError):
        pass
