"""SLURM submissions in :class:`lute.io.db.Database`: queued executions and their claim. Private.

:class:`QueueMixin` records an execution at submission time, before it runs: a QUEUED
row with its parameters, its SLURM job id and array index, linked to the other rows of
its submission (:meth:`~QueueMixin.queue_execution`). When ``lute-exec run`` starts
inside the allocation it claims that row (:meth:`~QueueMixin.claim_queued`) instead of
recording a new one. Submissions link to the submission they resubmit.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from lute.io.db._arguments import (
    RunLike,
    execution_key,
    job_id,
    json_column,
    optional_int,
    optional_text,
)
from lute.io.db._connect import DatabaseError
from lute.io.db._core import DatabaseCore
from lute.io.db._lost import record_lost, verdict
from lute.io.db._records import (
    EXECUTION_SELECT,
    SUBMISSION_COLUMNS,
    ExecutionRecord,
    SubmissionRecord,
    execution_from_row,
)
from lute.io.db._supervision import Supervisor, host_name
from lute.io.db._values import utc_now
from lute.io.db._writer import (
    ExecutionRow,
    ParameterRows,
    current_user,
    insert_execution,
    lost_to_record,
    replace_parameters,
    supervisor_columns,
)

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.parameters import RowIds

__all__ = ["QueueMixin"]


def _new_submission(
    conn: sqlite3.Connection, resubmission_of: Optional[int], description: Optional[str]
) -> int:
    if resubmission_of is not None:
        found = conn.execute("SELECT 1 FROM submissions WHERE id = ?", (resubmission_of,))
        if found.fetchone() is None:
            raise DatabaseError(f"resubmission_of: no submission with id {resubmission_of}")
    cursor = conn.execute(
        "INSERT INTO submissions (created, resubmission_of, host, user, description)"
        " VALUES (?, ?, ?, ?, ?)",
        (utc_now(), resubmission_of, host_name(), current_user(), description),
    )
    return int(cursor.lastrowid)  # type: ignore[arg-type]


class QueueMixin(DatabaseCore):
    """The methods of SLURM submissions; see :class:`lute.io.db.Database`."""

    def create_submission(
        self, *, resubmission_of: Optional[int] = None, description: Optional[str] = None
    ) -> int:
        """Record a new submission, to queue executions into; its id.

        Args:
            resubmission_of: The submission whose unfinished executions this one runs
                again.
            description: Free text, e.g. the ``lute-exec submit`` command line.

        Raises:
            DatabaseError: ``resubmission_of`` names no submission.
        """
        earlier = (
            None if resubmission_of is None else execution_key(resubmission_of, "resubmission_of")
        )
        text = optional_text(description, "description")
        return self._write("record a submission", lambda conn: _new_submission(conn, earlier, text))

    def queue_execution(
        self,
        *,
        managed_task: str,
        task_name: str,
        experiment: Optional[str],
        run: Optional[RunLike],
        parameters: Mapping[str, Any],
        submission_id: Optional[int] = None,
        slurm_job_id: Optional[Union[int, str]] = None,
        slurm_array_index: Optional[int] = None,
        work_dir: Optional[str] = None,
        host: Optional[str] = None,
        environment: Optional[Mapping[str, Any]] = None,
        versions: Optional[Mapping[str, Any]] = None,
        config_path: Optional[str] = None,
        log_path: Optional[str] = None,
        report_path: Optional[str] = None,
    ) -> RowIds:
        """Record an execution submitted to SLURM and not started: status QUEUED.

        The job claims it when it starts (:meth:`claim_queued`). The arguments shared
        with :meth:`start_execution` mean the same; nobody supervises a queued
        execution, so it is never LOST (``lute-exec`` compares it with SLURM's view and
        records CANCELLED or LOST with :meth:`set_status`).

        Args:
            submission_id: The submission it belongs to (:meth:`create_submission`); a
                new submission of its own when ``None``.
            slurm_job_id: The job id ``sbatch`` printed (for an array, the array's), if
                known yet; :meth:`set_slurm_job` sets it later.
            slurm_array_index: Its index in the job array, ``None`` for a plain job.

        Returns:
            ``RowIds(execution_id, parameters_id, db_path)``.

        Raises:
            DatabaseError: Invalid arguments, an unknown submission, or another queued
                execution with the same job id and array index.
        """
        from lute.io.parameters import RowIds

        row = ExecutionRow(
            managed_task=managed_task,
            task_name=task_name,
            experiment=experiment,
            run=run,
            parameters=parameters,
            work_dir=work_dir,
            host=host,
            environment=environment,
            versions=versions,
            config_path=config_path,
            log_path=log_path,
            report_path=report_path,
        )
        submission = (
            None if submission_id is None else execution_key(submission_id, "submission_id")
        )
        extra = {
            "status": "QUEUED",
            "slurm_job_id": job_id(slurm_job_id),
            "slurm_array_index": optional_int(slurm_array_index, "slurm_array_index"),
        }

        def body(conn: sqlite3.Connection) -> Tuple[int, int]:
            if submission is None:
                extra["submission_id"] = _new_submission(conn, None, None)
            elif conn.execute("SELECT 1 FROM submissions WHERE id = ?", (submission,)).fetchone():
                extra["submission_id"] = submission
            else:
                raise DatabaseError(f"queue_execution: no submission with id {submission}")
            return insert_execution(conn, row, extra)

        execution_id, parameters_id = self._write(f"queue an execution of {row.task_name}", body)
        return RowIds(execution_id=execution_id, parameters_id=parameters_id, db_path=self._path)

    def set_slurm_job(
        self,
        submission_id: int,
        slurm_job_id: Union[int, str],
        *,
        slurm_array_indexes: Optional[Iterable[int]] = None,
    ) -> int:
        """Record the job id ``sbatch`` printed on a submission's QUEUED executions.

        For when the rows are queued before ``sbatch`` runs (so the job never starts
        before its rows exist). Rows that have a job id already keep it.

        Args:
            submission_id: The submission.
            slurm_job_id: The job (array) id.
            slurm_array_indexes: Only the rows with these array indexes (an array split
                into several jobs); all when ``None``.

        Returns:
            How many executions were updated.
        """
        key = execution_key(submission_id, "submission_id")
        job = job_id(slurm_job_id)
        indexes = None
        if slurm_array_indexes is not None:
            indexes = [optional_int(i, "slurm_array_indexes") for i in slurm_array_indexes]
        query = (
            "UPDATE executions SET slurm_job_id = ? WHERE submission_id = ?"
            " AND status = 'QUEUED' AND slurm_job_id IS NULL"
        )

        def body(conn: sqlite3.Connection) -> int:
            if indexes is None:
                return int(conn.execute(query, (job, key)).rowcount)
            and_index = query + " AND slurm_array_index = ?"
            return sum(conn.execute(and_index, (job, key, i)).rowcount for i in indexes)

        return self._write(f"record the SLURM job of submission {key}", body)

    def discard_submission(self, submission_id: int) -> int:
        """Delete a submission's executions that are still QUEUED, e.g. when ``sbatch``
        failed after they were recorded; the submission too once nothing refers to it.

        Returns:
            How many executions were deleted.
        """
        key = execution_key(submission_id, "submission_id")

        def body(conn: sqlite3.Connection) -> int:
            deleted = conn.execute(
                "DELETE FROM executions WHERE submission_id = ? AND status = 'QUEUED'", (key,)
            ).rowcount
            conn.execute(
                "DELETE FROM submissions WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM executions WHERE submission_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM submissions WHERE resubmission_of = ?)",
                (key, key, key),
            )
            return int(deleted)

        return self._write(f"discard submission {key}", body)

    def claim_queued(
        self,
        execution_id: Optional[int] = None,
        *,
        slurm_job_id: Optional[Union[int, str]] = None,
        slurm_array_index: Optional[int] = None,
        host: Optional[str] = None,
        environment: Optional[Mapping[str, Any]] = None,
        versions: Optional[Mapping[str, Any]] = None,
        log_path: Optional[str] = None,
        report_path: Optional[str] = None,
        supervisor: Optional[Supervisor] = None,
        parameters: Optional[Mapping[str, Any]] = None,
    ) -> RowIds:
        """Start a QUEUED execution: what the job calls instead of :meth:`start_execution`.

        The execution becomes PENDING, supervised by this process (as
        :meth:`start_execution` records it), with the parameters it was queued with or
        those the job validated.
        Executions whose Executor is gone are recorded LOST in the same transaction.

        Args:
            execution_id: The execution; or else find it by
            slurm_job_id: the job id (``$SLURM_ARRAY_JOB_ID`` in an array task, else
                ``$SLURM_JOB_ID``) and
            slurm_array_index: the array index (``$SLURM_ARRAY_TASK_ID``; ``None`` for a
                plain job). With ``execution_id``, a job id is recorded if the row has
                none, and must match if it has one.
            host: Host name; defaults to this host.
            environment: Replaces the recorded environment, if given.
            versions: Replaces the recorded versions, if given.
            log_path: The run's log file, if known.
            report_path: The run's report, if known.
            supervisor: The supervising Executor process (this process when ``None``).
            parameters: The parameters the job validated, replacing those it was queued
                with (a value only the run could know, an upstream node's result); the
                queued ones when ``None``.

        Returns:
            ``RowIds(execution_id, parameters_id, db_path)`` to hand to the Task.

        Raises:
            DatabaseError: No such execution, or it is not QUEUED (claimed already,
                cancelled, ...): the message says its status and who claimed it.
        """
        from lute.io.parameters import RowIds

        key = None if execution_id is None else execution_key(execution_id)
        job = job_id(slurm_job_id)
        index = optional_int(slurm_array_index, "slurm_array_index")
        if key is None and job is None:
            raise DatabaseError(
                "claim_queued needs an execution_id, or a slurm_job_id (and slurm_array_index)"
            )
        if key is not None and index is not None:
            raise DatabaseError(
                "claim_queued: slurm_array_index finds an execution by its job; "
                "with an execution_id, give no slurm_array_index"
            )
        updates: Dict[str, Any] = {
            **supervisor_columns(supervisor),
            "host": optional_text(host, "host") or host_name(),
            "user": current_user(),
        }
        for name, value in (("environment", environment), ("versions", versions)):
            if value is not None:
                updates[name] = json_column(value, name)
        for name, path in (("log_path", log_path), ("report_path", report_path)):
            if path is not None:
                updates[name] = optional_text(path, name)
        if key is None:
            what = f"the execution queued as SLURM job {job}" + (
                "" if index is None else f" array index {index}"
            )
        else:
            what = f"execution {key}"

        lost = lost_to_record(self)
        validated = None if parameters is None else ParameterRows(parameters)

        def body(conn: sqlite3.Connection) -> Tuple[int, int]:
            record_lost(conn, lost)
            columns = "id, status, supervisor_host, supervisor_pid, slurm_job_id"
            if key is not None:
                found = conn.execute(f"SELECT {columns} FROM executions WHERE id = ?", (key,))
            else:
                found = conn.execute(
                    f"SELECT {columns} FROM executions WHERE slurm_job_id = ?"
                    " AND coalesce(slurm_array_index, -1) = ?",
                    (job, -1 if index is None else index),
                )
            row = found.fetchone()
            if row is None:
                raise DatabaseError(f"cannot claim {what}: there is none in {self._path}")
            row_id, status, by_host, by_pid, row_job = row
            if status != "QUEUED":
                by = "" if by_pid is None else f" (claimed by pid {by_pid} on {by_host})"
                raise DatabaseError(f"cannot claim {what}: it is {status}, not QUEUED{by}")
            if key is not None and job is not None:
                if row_job is not None and row_job != job:
                    raise DatabaseError(
                        f"cannot claim {what}: it is SLURM job {row_job}, not {job}"
                    )
                updates["slurm_job_id"] = job
            columns_set = {**updates, "status": "PENDING", "heartbeat": utc_now()}
            assignments = ", ".join(f"{name} = ?" for name in columns_set)
            conn.execute(
                f"UPDATE executions SET {assignments} WHERE id = ?", (*columns_set.values(), row_id)
            )
            found = conn.execute("SELECT id FROM parameters WHERE execution_id = ?", (row_id,))
            parameters_id = int(found.fetchone()[0])
            if validated is not None:
                replace_parameters(conn, parameters_id, validated)
            return int(row_id), parameters_id

        claimed, parameters_id = self._write(f"claim {what}", body)
        return RowIds(execution_id=claimed, parameters_id=parameters_id, db_path=self._path)

    def submission(self, submission_id: int) -> SubmissionRecord:
        """The submission with this id.

        Raises:
            DatabaseError: No such submission.
        """
        key = execution_key(submission_id, "submission_id")

        def body(conn: sqlite3.Connection) -> SubmissionRecord:
            row = conn.execute(
                f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = ?", (key,)
            ).fetchone()
            if row is None:
                raise DatabaseError(f"no submission with id {key} in {self._path}")
            return SubmissionRecord(*row)

        return self._read(f"read submission {key}", body)

    def submission_executions(self, submission_id: int) -> List[ExecutionRecord]:
        """The executions of a submission, by array index (then id); LOST as
        :meth:`execution` reports it.

        Raises:
            DatabaseError: No such submission.
        """
        key = execution_key(submission_id, "submission_id")

        def body(conn: sqlite3.Connection) -> List[ExecutionRecord]:
            if conn.execute("SELECT 1 FROM submissions WHERE id = ?", (key,)).fetchone() is None:
                raise DatabaseError(f"no submission with id {key} in {self._path}")
            judge = verdict()
            rows = conn.execute(
                f"SELECT {EXECUTION_SELECT} FROM executions WHERE submission_id = ?"
                " ORDER BY slurm_array_index, id",
                (key,),
            )
            return [execution_from_row(row, judge) for row in rows]

        return self._read(f"read the executions of submission {key}", body)
