"""Queueing and submitting a prepared submission: all of it, or nothing recorded.

Each point's execution is recorded QUEUED before the ``sbatch`` that runs it (so a job
can never start before its row exists), and the job id once ``sbatch`` printed it. If
``sbatch`` refuses a job, is missing or the controller does not answer, the jobs
already submitted are cancelled and the queued rows deleted: nothing stays recorded as
queued. With ``--max-parallel`` over several arrays, every further array waits for the
one before (``afterany``), so the limit holds over all of them.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.slurm._client import SlurmClient
from lute.execution.slurm._options import Option
from lute.execution.slurm._prepare import Prepared
from lute.execution.slurm._record import SubmissionDocument
from lute.execution.slurm._script import ScriptTask, render_script
from lute.execution.slurm._validate import PlannedPoint

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.db import Database

__all__ = ["Submission", "dry_run", "submit", "undo_submissions"]


class Submission(Record):
    """What was submitted (or, for a dry run, would be).

    Attributes:
        submission_id: The submission's id in the database (``None``: dry run).
        job_ids: The job id of each job (empty for a dry run).
        execution_ids: The queued executions, in point order.
        scripts: ``(path, text)`` of each batch script.
        db_path: The results database.
        directory: Where scripts and logs are.
    """

    _FIELDS = ("submission_id", "job_ids", "execution_ids", "scripts", "db_path", "directory")
    __slots__ = _FIELDS

    def __init__(
        self,
        submission_id: Optional[int],
        job_ids: List[str],
        execution_ids: List[int],
        scripts: List[Tuple[str, str]],
        db_path: str,
        directory: str,
    ) -> None:
        self.submission_id = submission_id
        self.job_ids = job_ids
        self.execution_ids = execution_ids
        self.scripts = scripts
        self.db_path = db_path
        self.directory = directory


def _script(
    prepared: Prepared,
    number: int,
    job: Sequence[PlannedPoint],
    execution_ids: Optional[Sequence[int]],
    after: Optional[str],
    comments: Sequence[str],
) -> str:
    request = prepared.request
    array = len(prepared.planned) > 1
    options = list(job[0].options.values())
    if after is not None:  # --max-parallel over several arrays: one array after the other
        dependency = job[0].options.get("dependency")
        value = "afterany:%s" % after
        if dependency is not None and dependency.value:
            value = "%s,%s" % (dependency.value, value)
        options = [o for o in options if o.name != "dependency"]
        options.append(
            Option("dependency", value, "lute-exec submit (--max-parallel, array %d)" % number)
        )
    tasks = [
        ScriptTask(
            position if array else None,
            None if execution_ids is None else execution_ids[position],
            point.label,
            point.point.overrides,
        )
        for position, point in enumerate(job)
    ]
    return render_script(
        python=sys.executable,
        config_path=job[0].plan.config_path,
        db_path=job[0].plan.db_path,
        managed_task=prepared.definition.name,
        overrides=request.overrides,
        tasks=tasks,
        options=options,
        directory=prepared.directory,
        prefix=prepared.prefix,
        max_parallel=request.max_parallel,
        comments=comments,
    )


def _comments(prepared: Prepared, submission_id: Optional[int], number: int) -> List[str]:
    request = prepared.request
    total = len(prepared.planned)
    head = "written by lute-exec submit: %s, %d execution%s" % (
        prepared.definition.name,
        total,
        "" if total == 1 else "s",
    )
    if submission_id is not None:
        head += " (submission %d" % submission_id
        head += (
            ", array %d of %d)" % (number + 1, len(prepared.jobs))
            if len(prepared.jobs) > 1
            else ")"
        )
    return [head, request.command] if request.command else [head]


def dry_run(prepared: Prepared) -> Submission:
    """The scripts a submission would write, with no execution ids (nothing queued)."""
    scripts = [
        (
            os.path.join(prepared.directory, "%s_dry-run_%d.sh" % (prepared.prefix, number)),
            _script(
                prepared,
                number,
                job,
                None,
                None if number == 0 or not prepared.request.max_parallel else "PREVIOUS_JOB",
                _comments(prepared, None, number),
            ),
        )
        for number, job in enumerate(prepared.jobs)
    ]
    return Submission(None, [], [], scripts, prepared.db_path, prepared.directory)


def submit(
    prepared: Prepared,
    *,
    client: Optional[SlurmClient] = None,
    resubmission_of: Optional[int] = None,
) -> Submission:
    """Queue every execution and submit every job; all of it, or nothing recorded.

    Raises:
        SlurmError: sbatch refused a job, is missing or the controller did not answer
            (the jobs already submitted are cancelled, the queued rows deleted).
        lute.io.db.DatabaseError: The database cannot be written.
    """
    from lute.io.db import Database

    client = client or SlurmClient()
    request = prepared.request
    document = SubmissionDocument(
        request.command,
        prepared.planned[0].plan.config_path,
        prepared.definition.name,
        request.overrides,
        request.sbatch,
        request.max_parallel,
        prepared.directory,
        prepared.prefix,
        [(job.label, job.point.overrides) for jobs in prepared.jobs for job in jobs],
    )
    os.makedirs(os.path.join(prepared.directory, "jobs"), exist_ok=True)
    with Database(prepared.db_path) as db:
        submission_id = db.create_submission(
            resubmission_of=resubmission_of, description=document.to_text()
        )
        job_ids: List[str] = []
        execution_ids: List[int] = []
        scripts: List[Tuple[str, str]] = []
        try:
            for number, job in enumerate(prepared.jobs):
                ids = _queue(db, prepared, submission_id, job)
                execution_ids.extend(ids)
                after = job_ids[-1] if job_ids and request.max_parallel else None
                text = _script(
                    prepared, number, job, ids, after, _comments(prepared, submission_id, number)
                )
                suffix = "" if len(prepared.jobs) == 1 else "_%d" % number
                path = os.path.join(
                    prepared.directory, "%s_s%d%s.sh" % (prepared.prefix, submission_id, suffix)
                )
                _write(path, text)
                scripts.append((path, text))
                job_id = client.submit(path)
                job_ids.append(job_id)
                db.set_slurm_job(submission_id, job_id)
        except BaseException:
            undo_submissions(db, client, [submission_id], job_ids, scripts)
            raise
    return Submission(
        submission_id, job_ids, execution_ids, scripts, prepared.db_path, prepared.directory
    )


def _queue(
    db: Database, prepared: Prepared, submission_id: int, job: Sequence[PlannedPoint]
) -> List[int]:
    array = len(prepared.planned) > 1
    ids = []
    for position, point in enumerate(job):
        plan = point.plan
        run = plan.run_number if plan.run_number not in ("", None) else None
        row = db.queue_execution(
            managed_task=prepared.definition.name,
            task_name=prepared.definition.task_name,
            experiment=plan.experiment or None,
            run=run,
            parameters=plan.wire_parameters,
            submission_id=submission_id,
            slurm_array_index=position if array else None,
            work_dir=plan.work_dir,
            environment=plan.environment_record(),
            versions=plan.versions(),
            config_path=plan.config_path,
        )
        ids.append(row.execution_id)
    return ids


def _write(path: str, text: str) -> None:
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o755)
    os.replace(temporary, path)


def undo_submissions(
    db: Database,
    client: SlurmClient,
    submission_ids: Sequence[int],
    job_ids: Sequence[str],
    scripts: Sequence[Tuple[str, str]],
) -> None:
    """After a failure: cancel what was submitted, delete what was queued and written
    (one submission's, or a workflow's several)."""
    try:
        client.cancel(list(job_ids))
    except Exception:  # the failure being reported matters more
        pass
    for submission_id in submission_ids:
        db.discard_submission(submission_id)
    for path, _text in scripts:
        try:
            os.unlink(path)
        except OSError:
            pass
