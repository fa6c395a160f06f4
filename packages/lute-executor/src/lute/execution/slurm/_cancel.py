"""``lute-exec cancel``: ``scancel`` submitted work and record what that means at once.

A pending job (or array task) is cancelled by SLURM at once: its QUEUED execution is
recorded CANCELLED here. A running one gets SIGTERM, every process of it at once
(``lute-exec run`` and its Task): the run records its own end, CANCELLED. A job SLURM
has already forgotten cannot be cancelled and is left to ``lute-exec status``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.execution.slurm._client import SlurmClient
from lute.execution.slurm._errors import SlurmError
from lute.execution.slurm._status import job_text

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.db import Database, ExecutionRecord

__all__ = ["CancelResult", "cancel"]

_INVALID = "Invalid job id"


class CancelResult(FrozenRecord):
    """What ``cancel`` did.

    Attributes:
        targets: What was given to ``scancel`` (``4242``, ``4242_3``).
        cancelled: Executions that had not started, now recorded CANCELLED.
        stopping: Executions that were running: they record CANCELLED themselves.
        finished: Executions that had ended already (left as they are).
        warning: What ``scancel`` said of jobs it did not know, if anything.
    """

    _FIELDS = ("targets", "cancelled", "stopping", "finished", "warning")
    __slots__ = _FIELDS
    targets: Tuple[str, ...]
    cancelled: Tuple[int, ...]
    stopping: Tuple[int, ...]
    finished: Tuple[int, ...]
    warning: Optional[str]

    def __init__(
        self,
        targets: Sequence[str],
        cancelled: Sequence[int],
        stopping: Sequence[int],
        finished: Sequence[int],
        warning: Optional[str],
    ) -> None:
        self._set_fields(
            tuple(targets), tuple(cancelled), tuple(stopping), tuple(finished), warning
        )


def _targets(records: Sequence[ExecutionRecord], jobs: Sequence[str]) -> List[str]:
    """What to give scancel: the jobs as given, else each unfinished execution's job."""
    if jobs:
        return list(dict.fromkeys(jobs))
    targets: List[str] = []
    for record in records:
        if record.is_terminal or record.slurm_job_id is None:
            continue
        whole = str(record.slurm_job_id)
        if whole not in targets:
            targets.append(whole)
    return targets


def cancel(
    db: Database,
    records: Sequence[ExecutionRecord],
    *,
    jobs: Sequence[str] = (),
    client: Optional[SlurmClient] = None,
) -> CancelResult:
    """Cancel the jobs of ``records`` (or exactly ``jobs``) and record it.

    Raises:
        SlurmError: ``scancel`` failed for another reason than jobs it does not know.
    """
    client = client or SlurmClient()
    targets = _targets(records, jobs)
    warning = None
    try:
        client.cancel(targets)
    except SlurmError as error:
        if _INVALID not in str(error):
            raise
        warning = str(error)
    cancelled: List[int] = []
    stopping: List[int] = []
    finished: List[int] = []
    for record in records:
        if record.is_terminal:
            finished.append(record.id)
        elif record.status == "QUEUED":
            written = db.set_status(
                record.id,
                "CANCELLED",
                error="cancelled with lute-exec cancel before it started (scancel %s)"
                % (job_text(record) or "-"),
                if_status="QUEUED",
            )
            if written:
                cancelled.append(record.id)
            else:  # claimed meanwhile: its run records its own end
                (finished if db.execution(record.id).is_terminal else stopping).append(record.id)
        else:
            stopping.append(record.id)
    return CancelResult(targets, cancelled, stopping, finished, warning)
