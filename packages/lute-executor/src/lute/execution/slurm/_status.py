"""What became of submitted executions: the database beside SLURM, reconciled and recorded.

The database says what the runs recorded; SLURM says what became of the jobs. They
disagree when a run could not record its end, or never started: a job cancelled while
pending (its row is still QUEUED), a job that ended before ``lute-exec run`` claimed its
row, a job whose ``lute-exec`` was killed, a job at its time limit that the run took for
a cancellation, a job SLURM has forgotten. :func:`reconciled` decides each case (a pure
function, tested as a table); :func:`status` records the decisions with
``set_status``, so the database stays the record after SLURM forgets the job.
"""

from __future__ import annotations

import datetime
import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.slurm._client import DROPPED, JobState, SlurmClient
from lute.execution.slurm._errors import SlurmError
from lute.execution.slurm._record import SubmissionDocument
from lute.execution.slurm._script import log_name

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.db import Database, ExecutionRecord

__all__ = [
    "StatusRow",
    "SubmissionPoints",
    "never_submitted",
    "reconciled",
    "record_change",
    "select_executions",
    "status",
]

#: What reconciling changed: ``(old status, new status, why)``.
Change = Tuple[str, str, str]

_GOING_ON = ("PENDING", "RUNNING", "STOPPED")


def reconciled(status: str, job: Optional[JobState], job_id: str) -> Optional[Tuple[str, str]]:
    """The status an execution should have given SLURM's view, and why; ``None``: as is.

    Args:
        status: The execution's status as the database reports it (LOST included).
        job: What SLURM says of its job (array task); ``None`` when SLURM knows nothing
            of it (it forgot the job, after ``MinJobAge``, or never knew it).
        job_id: The job, for the messages (``4242_3``).
    """
    if job is None:
        if status == "QUEUED":
            return "LOST", (
                "SLURM no longer knows job %s (it forgets ended jobs after MinJobAge) and "
                "its run never started" % job_id
            )
        if status in _GOING_ON:
            return "LOST", "SLURM no longer knows job %s and its run recorded no end" % job_id
        return None
    if job.active:
        return None
    said = "SLURM: %s" % job.describe()
    if job.state == DROPPED:
        if status == "QUEUED":
            return "CANCELLED", (
                "SLURM no longer lists task %s in its array: a pending task is dropped when "
                "it is cancelled" % job_id
            )
        if status in _GOING_ON:
            return "LOST", "SLURM no longer lists task %s and its run recorded no end" % job_id
        return None
    if status == "QUEUED":
        if job.state == "CANCELLED":
            why = " (a dependency that can never be met)" if "Dependency" in job.reason else ""
            return "CANCELLED", "cancelled before it started%s (%s)" % (why, said)
        if job.state in ("TIMEOUT", "DEADLINE"):
            return "TIMEDOUT", "job %s reached its time limit before the run started (%s)" % (
                job_id,
                said,
            )
        return "FAILED", "job %s ended before the run started (%s); see its log" % (job_id, said)
    if status in (*_GOING_ON, "LOST"):
        if job.state == "TIMEOUT":
            return "TIMEDOUT", "SLURM ended job %s at its time limit (TIMEOUT)" % job_id
        if job.state == "CANCELLED":
            return "CANCELLED", "job %s was cancelled and its run recorded no end (%s)" % (
                job_id,
                said,
            )
        if status == "LOST":
            return None
        return "LOST", (
            "job %s ended (%s) while its run was %s: lute-exec ended without recording "
            "the end" % (job_id, said, status)
        )
    if status == "CANCELLED" and job.state == "TIMEOUT":
        return "TIMEDOUT", (
            "SLURM ended job %s at its time limit (TIMEOUT); the run saw only the SIGTERM" % job_id
        )
    return None


#: Seconds after which a QUEUED execution with no job id was never submitted: its
#: ``lute-exec submit`` was killed between queueing it and ``sbatch`` (which it never
#: waits for this long).
UNSUBMITTED_AFTER = 600.0


def never_submitted(created: datetime.datetime, now: float) -> Optional[Tuple[str, str]]:
    """LOST for a QUEUED execution that never got a job id in :data:`UNSUBMITTED_AFTER`."""
    if now - created.timestamp() < UNSUBMITTED_AFTER:
        return None  # its lute-exec submit may still be on its way to sbatch
    return "LOST", (
        "queued at %s but never submitted (lute-exec submit ended before sbatch)"
        % created.isoformat(timespec="seconds")
    )


class StatusRow(Record):
    """One submitted execution as ``lute-exec status`` shows it.

    Attributes:
        execution: The execution (as recorded after reconciliation).
        job: ``4242_3``, ``4242``, or ``""`` when it has no job yet.
        slurm: What SLURM says (``None``: nothing, or SLURM was not asked).
        point: The point's sweep values (``Test.float_var=0.1``), if any.
        log: The run's SLURM log file, if it can be named.
        change: ``(old status, new status, why)`` when this call recorded a change.
    """

    _FIELDS = ("execution", "job", "slurm", "point", "log", "change")
    __slots__ = _FIELDS

    def __init__(
        self,
        execution: ExecutionRecord,
        job: str,
        slurm: Optional[JobState],
        point: str,
        log: Optional[str],
        change: Optional[Change],
    ) -> None:
        self.execution = execution
        self.job = job
        self.slurm = slurm
        self.point = point
        self.log = log
        self.change = change

    @property
    def status(self) -> str:
        """The status after reconciling (recorded, or only decided when not recording)."""
        return self.change[1] if self.change is not None else str(self.execution.status)

    @property
    def is_terminal(self) -> bool:
        """Whether :attr:`status` is an end (COMPLETED, FAILED, TIMEDOUT, CANCELLED, LOST)."""
        from lute.io.db import TERMINAL_STATUSES

        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> Dict[str, Any]:
        shown = self.execution.to_dict()
        shown["status"] = self.status
        shown["job"] = self.job
        shown["slurm"] = None if self.slurm is None else self.slurm.to_dict()
        shown["point"] = self.point
        shown["log"] = self.log
        shown["change"] = None if self.change is None else list(self.change)
        return shown


def job_text(record: ExecutionRecord) -> str:
    """``4242_3`` (an array task), ``4242`` or ``""``."""
    if record.slurm_job_id is None:
        return ""
    if record.slurm_array_index is None:
        return str(record.slurm_job_id)
    return "%s_%d" % (record.slurm_job_id, record.slurm_array_index)


class SubmissionPoints:
    """The label and overrides of submitted executions, from their submission's record."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_submission: Dict[int, Tuple[Optional[SubmissionDocument], Dict[int, int]]] = {}

    def _submission(
        self, submission_id: int
    ) -> Tuple[Optional[SubmissionDocument], Dict[int, int]]:
        if submission_id not in self._by_submission:
            document = SubmissionDocument.from_text(self.db.submission(submission_id).description)
            ids = sorted(r.id for r in self.db.submission_executions(submission_id))
            positions = {execution_id: n for n, execution_id in enumerate(ids)}
            if document is not None and len(document.points) != len(ids):
                document = None  # not the rows it describes: name nothing rather than wrongly
            self._by_submission[submission_id] = (document, positions)
        return self._by_submission[submission_id]

    def document(self, submission_id: int) -> Optional[SubmissionDocument]:
        return self._submission(submission_id)[0]

    def point(self, record: ExecutionRecord) -> Optional[Tuple[str, List[str]]]:
        """``(label, overrides)`` of the execution's point, if its submission says."""
        if record.submission_id is None:
            return None
        document, positions = self._submission(record.submission_id)
        if document is None or record.id not in positions:
            return None
        label, overrides = document.points[positions[record.id]]
        return label, overrides

    def log(self, record: ExecutionRecord) -> Optional[str]:
        found = self.point(record)
        if found is None or record.slurm_job_id is None or record.submission_id is None:
            return None
        document = self.document(record.submission_id)
        assert document is not None
        name = log_name(
            document.prefix, found[0], str(record.slurm_job_id), record.slurm_array_index
        )
        return os.path.join(document.directory, name)


def select_executions(
    db: Database,
    *,
    jobs: Sequence[str] = (),
    submission_id: Optional[int] = None,
    experiment: Optional[str] = None,
    runs: Optional[Sequence[str]] = None,
) -> List[ExecutionRecord]:
    """The submitted executions asked for, oldest first; by default the newest submission's.

    Args:
        jobs: Job ids (``4242``) or array tasks (``4242_3``).
        submission_id: A submission.
        experiment: Submitted executions of this experiment.
        runs: Of these runs.
    """
    found: Dict[int, ExecutionRecord] = {}
    for job in jobs:
        number, _, index = job.partition("_")
        for record in db.executions(slurm_job_id=number, limit=None):
            if not index or record.slurm_array_index == int(index):
                found[record.id] = record
    if submission_id is not None:
        for record in db.submission_executions(submission_id):
            found[record.id] = record
    if experiment is not None or runs is not None:
        for run in runs if runs is not None else [None]:
            for record in db.executions(experiment=experiment, run=run, limit=None):
                if record.submission_id is not None:
                    found[record.id] = record
    if not (jobs or submission_id is not None or experiment is not None or runs is not None):
        newest = next((r for r in db.executions(limit=1000) if r.submission_id is not None), None)
        if newest is not None and newest.submission_id is not None:
            for record in db.submission_executions(newest.submission_id):
                found[record.id] = record
    return [found[key] for key in sorted(found)]


def status(
    db: Database,
    records: Sequence[ExecutionRecord],
    *,
    client: Optional[SlurmClient] = None,
    record: bool = True,
) -> Tuple[List[StatusRow], Optional[str]]:
    """Each execution beside its job, reconciled (and, with ``record``, recorded).

    Returns:
        The rows, and a warning when SLURM could not be asked (the rows then show the
        database alone).
    """
    client = client or SlurmClient()
    job_ids = {str(r.slurm_job_id) for r in records if r.slurm_job_id is not None}
    warning = None
    states: Optional[Dict[Any, JobState]] = None
    if job_ids:
        try:
            states = client.jobs(job_ids)
        except SlurmError as error:
            warning = "%s; showing the database alone" % error
    points = SubmissionPoints(db)
    rows = []
    for execution in records:
        job = job_text(execution)
        slurm = None
        change = None
        decided = None
        if states is not None and execution.slurm_job_id is not None:
            slurm = client.job(states, str(execution.slurm_job_id), execution.slurm_array_index)
            decided = reconciled(execution.status, slurm, job)
        elif execution.status == "QUEUED" and execution.slurm_job_id is None:
            decided = never_submitted(execution.created_at, time.time())
        if decided is not None and decided[0] != execution.status:
            change = (execution.status, decided[0], decided[1])
            if record:
                execution, change = record_change(db, execution, change)
        found = points.point(execution)
        point = "" if found is None else " ".join(_point_values(found[1]))
        rows.append(StatusRow(execution, job, slurm, point, points.log(execution), change))
    return rows, warning


def record_change(
    db: Database, execution: ExecutionRecord, change: Change
) -> Tuple[ExecutionRecord, Optional[Change]]:
    """Record what reconciling decided: the execution as it now is, and the change
    (``None`` when the status rules kept another status: LOST never replaces a
    terminal status, a late non-terminal one is ignored; or when the execution moved on
    since it was read, e.g. its job claimed a QUEUED row and ended while SLURM was asked)."""
    written = db.set_status(execution.id, change[1], error=change[2], if_status=change[0])
    return db.execution(execution.id), (change if written else None)


def _point_values(overrides: Sequence[str]) -> List[str]:
    """A point's sweep values: its overrides but the run."""
    return [o for o in overrides if not o.startswith("lute_config.run=")]
