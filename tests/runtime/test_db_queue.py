"""SLURM submissions: QUEUED executions recorded at submission time, claimed by the job."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from lute.io.db import Database, DatabaseError, default_db_path, this_process
from tests.runtime.db_helpers import run_at_once


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(default_db_path(str(tmp_path)))
    yield database
    database.close()


def queue(db: Database, **kwargs: Any) -> int:
    options: Dict[str, Any] = dict(
        managed_task="Tester",
        task_name="Test",
        experiment="xpp1234",
        run=12,
        parameters={"lute_config": {"run": 12}, "float_var": 0.5},
    )
    options.update(kwargs)
    return db.queue_execution(**options).execution_id


def ids(records: List[Any]) -> List[int]:
    return [record.id for record in records]


def statuses(records: List[Any]) -> List[Any]:
    return [(r.slurm_array_index, r.status) for r in records]


def test_a_queued_execution_has_its_parameters_and_no_supervisor(db: Database) -> None:
    execution_id = queue(db, slurm_job_id="4242", log_path="/w/logs/x.out")
    record = db.execution(execution_id)
    assert (record.status, record.slurm_job_id, record.slurm_array_index) == ("QUEUED", 4242, None)
    assert record.supervisor_pid is None and record.heartbeat is None
    assert record.submission_id is not None and not record.is_terminal
    assert record.log_path == "/w/logs/x.out" and record.started is None
    assert db.parameters(execution_id) == {"lute_config": {"run": 12}, "float_var": 0.5}
    assert db.mark_lost() == []  # nobody supervises it, so it cannot be LOST
    assert db.submission(record.submission_id).resubmission_of is None


def test_one_submission_many_array_tasks(db: Database) -> None:
    submission = db.create_submission(description="lute-exec submit --runs 12-14")
    made = [
        queue(db, run=12 + index, submission_id=submission, slurm_array_index=index)
        for index in (2, 0, 1)
    ]
    assert db.set_slurm_job(submission, 777) == 3
    records = db.submission_executions(submission)
    assert statuses(records) == [(0, "QUEUED"), (1, "QUEUED"), (2, "QUEUED")]
    assert [r.id for r in records] == [made[1], made[2], made[0]]
    assert {r.slurm_job_id for r in records} == {777}
    shown = db.submission(submission)
    assert shown.description == "lute-exec submit --runs 12-14" and shown.id == submission
    assert shown.host and shown.created
    assert db.set_slurm_job(submission, 778) == 0  # the job ids are kept


def test_a_split_array_gets_one_job_id_per_part(db: Database) -> None:
    submission = db.create_submission()
    for index in range(4):
        queue(db, submission_id=submission, slurm_array_index=index)
    assert db.set_slurm_job(submission, 10, slurm_array_indexes=[0, 1]) == 2
    assert db.set_slurm_job(submission, "11", slurm_array_indexes=range(2, 4)) == 2
    jobs = [r.slurm_job_id for r in db.submission_executions(submission)]
    assert jobs == [10, 10, 11, 11]


def test_resubmissions_link_to_the_original(db: Database) -> None:
    first = db.create_submission()
    again = db.create_submission(resubmission_of=first, description="resubmit")
    assert db.submission(again).resubmission_of == first
    with pytest.raises(DatabaseError, match="resubmission_of: no submission with id 99"):
        db.create_submission(resubmission_of=99)
    with pytest.raises(DatabaseError, match="no submission with id 99"):
        db.submission(99)
    with pytest.raises(DatabaseError, match="no submission with id 99"):
        db.submission_executions(99)
    with pytest.raises(DatabaseError, match="queue_execution: no submission with id 99"):
        queue(db, submission_id=99)


def test_claim_by_job_and_array_index(db: Database) -> None:
    submission = db.create_submission()
    rows = [
        db.queue_execution(
            managed_task="Tester",
            task_name="Test",
            experiment="xpp1234",
            run=index,
            parameters={"index": index},
            submission_id=submission,
            slurm_job_id=900,
            slurm_array_index=index,
        )
        for index in range(3)
    ]
    claimed = db.claim_queued(
        slurm_job_id="900",
        slurm_array_index=1,
        environment={"interpreter": sys.executable},
        log_path="/w/logs/Tester_900_1.out",
    )
    assert claimed == rows[1]
    record = db.execution(claimed.execution_id)
    me = this_process()
    assert (record.status, record.supervisor_pid, record.supervisor_host) == (
        "PENDING",
        me.pid,
        me.host,
    )
    assert record.heartbeat is not None and record.environment == {"interpreter": sys.executable}
    assert record.log_path == "/w/logs/Tester_900_1.out"
    assert db.parameters(claimed.execution_id) == {"index": 1}
    db.set_status(claimed.execution_id, "RUNNING", pid=os.getpid())
    db.set_status(claimed.execution_id, "COMPLETED", exit_code=0)
    assert statuses(db.submission_executions(submission)) == [
        (0, "QUEUED"),
        (1, "COMPLETED"),
        (2, "QUEUED"),
    ]


def test_claim_by_execution_id_records_the_job(db: Database) -> None:
    execution_id = queue(db)
    claimed = db.claim_queued(execution_id, slurm_job_id=31)
    assert claimed.execution_id == execution_id
    assert db.execution(execution_id).slurm_job_id == 31
    plain = queue(db, slurm_job_id=32)
    assert db.claim_queued(slurm_job_id=32).execution_id == plain  # a plain job: no index


def test_claim_fails_clearly(db: Database) -> None:
    execution_id = queue(db, slurm_job_id=50, slurm_array_index=0)
    with pytest.raises(DatabaseError, match="needs an execution_id, or a slurm_job_id"):
        db.claim_queued()
    with pytest.raises(DatabaseError, match="with an execution_id, give no slurm_array_index"):
        db.claim_queued(execution_id, slurm_job_id=50, slurm_array_index=0)
    with pytest.raises(DatabaseError, match="SLURM job 50 array index 7: there is none"):
        db.claim_queued(slurm_job_id=50, slurm_array_index=7)
    with pytest.raises(DatabaseError, match="it is SLURM job 50, not 51"):
        db.claim_queued(execution_id, slurm_job_id=51)
    with pytest.raises(DatabaseError, match="cannot claim execution 99: there is none"):
        db.claim_queued(99)
    db.claim_queued(execution_id)
    me = this_process()
    with pytest.raises(
        DatabaseError,
        match=f"it is PENDING, not QUEUED \\(claimed by pid {me.pid} on {me.host}\\)",
    ):
        db.claim_queued(slurm_job_id=50, slurm_array_index=0)
    cancelled = queue(db)
    db.set_status(cancelled, "CANCELLED", error="cancelled while pending")
    with pytest.raises(DatabaseError, match=r"it is CANCELLED, not QUEUED$"):
        db.claim_queued(cancelled)


def test_status_changes_of_a_queued_execution(db: Database) -> None:
    execution_id = queue(db)
    for status in ("RUNNING", "PENDING", "STOPPED"):
        with pytest.raises(DatabaseError, match="is QUEUED; claim_queued starts it"):
            db.set_status(execution_id, status)
    with pytest.raises(DatabaseError, match="cannot become QUEUED"):
        db.set_status(execution_id, "QUEUED")
    db.set_status(execution_id, "CANCELLED")
    record = db.execution(execution_id)
    assert (record.status, record.started is None, record.ended is not None) == (
        "CANCELLED",
        True,
        True,
    )
    gone = queue(db)
    db.set_status(gone, "LOST", error="SLURM forgot job 12 while the row said QUEUED")
    assert db.execution(gone).status == "LOST"


def test_a_status_decided_from_an_earlier_read_is_written_only_if_it_still_holds(
    db: Database,
) -> None:
    """``lute-exec cancel`` and reconciling decide from a QUEUED row read earlier; the
    job may have claimed it and ended since, and its end must stay."""
    execution_id = queue(db)
    db.claim_queued(execution_id)
    assert db.set_status(execution_id, "COMPLETED") is True
    assert db.set_status(execution_id, "CANCELLED", if_status="QUEUED") is False
    record = db.execution(execution_id)
    assert (record.status, record.error) == ("COMPLETED", None)
    still = queue(db)
    assert db.set_status(still, "CANCELLED", error="scancel 12", if_status="QUEUED") is True
    assert (db.execution(still).status, db.execution(still).error) == ("CANCELLED", "scancel 12")
    # The rules keep a terminal status from LOST whatever the caller expected.
    assert db.set_status(still, "LOST", if_status="CANCELLED") is False
    with pytest.raises(DatabaseError, match="set_status"):
        db.set_status(still, "CANCELLED", if_status="DONE-ISH")


def test_running_can_become_lost(db: Database) -> None:
    execution_id = db.claim_queued(queue(db)).execution_id
    db.set_status(execution_id, "RUNNING")
    db.set_status(execution_id, "LOST", error="SLURM says job 12 is gone")
    record = db.execution(execution_id)
    assert (record.status, record.error, record.ended) == (
        "LOST",
        "SLURM says job 12 is gone",
        record.heartbeat,
    )


def test_one_row_per_job_and_array_index(db: Database) -> None:
    queue(db, slurm_job_id=60, slurm_array_index=1)
    queue(db, slurm_job_id=60, slurm_array_index=2)
    with pytest.raises(DatabaseError, match="UNIQUE"):
        queue(db, slurm_job_id=60, slurm_array_index=1)
    queue(db, slurm_job_id=61)
    with pytest.raises(DatabaseError, match="UNIQUE"):
        queue(db, slurm_job_id=61)
    with pytest.raises(DatabaseError, match="slurm_job_id must be a SLURM job id"):
        queue(db, slurm_job_id=-3)


def test_discarding_a_failed_submission_leaves_nothing_queued(db: Database) -> None:
    submission = db.create_submission()
    for index in range(3):
        queue(db, submission_id=submission, slurm_array_index=index)
    assert db.discard_submission(submission) == 3
    assert db.executions(status="QUEUED") == []
    with pytest.raises(DatabaseError, match="no submission with id"):
        db.submission(submission)
    # Rows that started already are never discarded, nor their submission.
    kept = db.create_submission()
    started = queue(db, submission_id=kept, slurm_array_index=0)
    queue(db, submission_id=kept, slurm_array_index=1)
    db.claim_queued(started)
    assert db.discard_submission(kept) == 1
    assert [r.id for r in db.submission_executions(kept)] == [started]
    assert db.parameters(started) != {}


def test_submission_and_job_filters(db: Database) -> None:
    submission = db.create_submission()
    queued = db.queue_execution(
        managed_task="Tester",
        task_name="Test",
        experiment="xpp1234",
        run=1,
        parameters={},
        submission_id=submission,
        slurm_job_id=555,
        slurm_array_index=0,
    ).execution_id
    db.start_execution(
        managed_task="Tester", task_name="Test", experiment="x", run=1, parameters={}
    )
    assert ids(db.executions(submission_id=submission)) == [queued]
    assert (
        ids(db.executions(slurm_job_id=555)) == ids(db.executions(slurm_job_id="555")) == [queued]
    )
    assert ids(db.executions(status="QUEUED")) == [queued]
    with pytest.raises(DatabaseError, match="slurm_job_id must be a SLURM job id"):
        db.executions(slurm_job_id="55x")
    with pytest.raises(DatabaseError, match="submission_id must be an int"):
        db.executions(submission_id="1")  # type: ignore[arg-type]


CLAIMER = """
import json, os, sys
from lute.io.db import Database, DatabaseError
with Database(sys.argv[1], timeout=120) as db:
    try:
        ids = db.claim_queued(slurm_job_id=70, slurm_array_index=0)
        print(json.dumps({"claimed": ids.execution_id, "pid": os.getpid()}))
    except DatabaseError as error:
        print(json.dumps({"refused": str(error)}))
"""


def test_exactly_one_of_many_jobs_claims_a_row(db: Database) -> None:
    execution_id = queue(db, slurm_job_id=70, slurm_array_index=0)
    outputs = run_at_once(CLAIMER, [db.path], 6)
    assert [(code, err) for code, _, err in outputs] == [(0, "")] * 6
    reports = [json.loads(out) for _, out, _ in outputs]
    winners = [r for r in reports if "claimed" in r]
    assert len(winners) == 1 and winners[0]["claimed"] == execution_id
    for report in reports:
        if "refused" in report:
            # PENDING, or LOST once the winner has exited.
            claimed_by = (
                r"it is (PENDING|LOST), not QUEUED \(claimed by pid %d " % winners[0]["pid"]
            )
            assert re.search(claimed_by, report["refused"]), report
    # The winner has exited: the claimed execution is now LOST.
    record = db.execution(execution_id)
    assert record.status == "LOST" and record.supervisor_pid == winners[0]["pid"]


def test_the_claim_records_the_parameters_the_job_validated(db: Database) -> None:
    execution_id = queue(db, parameters={"in_file": "<pending>", "n": 1})
    before = db.execution(execution_id)
    ids = db.claim_queued(execution_id, parameters={"in_file": "/data/r12.txt", "n": 1})
    assert db.parameters(execution_id) == {"in_file": "/data/r12.txt", "n": 1}
    assert ids.parameters_id is not None and before.status == "QUEUED"
    found = db.executions(status="PENDING")
    assert [record.id for record in found] == [execution_id]
    with sqlite3.connect(db.path) as conn:
        leaves = dict(conn.execute("SELECT path, value FROM parameter_values"))
    assert leaves == {"in_file": '"/data/r12.txt"', "n": "1"}
