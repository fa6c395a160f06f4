"""Searching executions: every filter of ``Database.executions``, paging and LOST."""

from __future__ import annotations

import datetime
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from lute.io.db import HEARTBEAT_LIMIT, Database, DatabaseError, Supervisor, default_db_path

UTC = datetime.timezone.utc


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(default_db_path(str(tmp_path)))
    yield database
    database.close()


def start(db: Database, **kwargs: Any) -> int:
    options: Dict[str, Any] = dict(
        managed_task="Tester", task_name="Test", experiment="xpp1234", run="0012", parameters={}
    )
    options.update(kwargs)
    return db.start_execution(**options).execution_id


def ids(records: List[Any]) -> List[int]:
    return [record.id for record in records]


def set_column(db: Database, execution_id: int, column: str, value: Any) -> None:
    conn = sqlite3.connect(db.path, isolation_level=None)
    try:
        conn.execute(f"UPDATE executions SET {column} = ? WHERE id = ?", (value, execution_id))
    finally:
        conn.close()


def test_name_and_run_filters(db: Database) -> None:
    a = start(db, run=12)
    b = start(db, task_name="FindPeaks", managed_task="PeakFinder", run="13")
    c = start(db, experiment="mfx99", run="dark")
    assert ids(db.executions()) == [c, b, a]
    assert ids(db.executions(experiment="xpp1234")) == [b, a]
    assert ids(db.executions(experiment="xpp1234", run="0012")) == [a]
    assert ids(db.executions(run=12)) == ids(db.executions(run="012")) == [a]
    assert ids(db.executions(run="dark")) == [c]
    assert ids(db.executions(managed_task="PeakFinder")) == [b]
    assert ids(db.executions(task_name="Test")) == [c, a]
    assert ids(db.executions(task_name="Test", managed_task="PeakFinder")) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("experiment", 12), ("task_name", 5), ("managed_task", ["Tester"]), ("experiment", b"x")],
)
def test_a_filter_of_the_wrong_type_is_an_error_not_an_empty_list(
    db: Database, name: str, value: Any
) -> None:
    start(db)
    with pytest.raises(DatabaseError, match=f"{name} must be a string, got"):
        db.executions(**{name: value})


def test_the_latest_lookups_check_their_filters_too(db: Database) -> None:
    with pytest.raises(DatabaseError, match="experiment must be a string"):
        db.latest_result("Test", experiment=1234)  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="experiment must be a string"):
        db.latest_parameters("Test", experiment=1234)  # type: ignore[arg-type]


def test_status_filters_one_or_several(db: Database) -> None:
    a, b, c = start(db), start(db), start(db)
    db.set_status(a, "COMPLETED")
    db.set_status(b, "FAILED")
    assert ids(db.executions(status="COMPLETED")) == [a]
    assert ids(db.executions(status=["COMPLETED", "FAILED"])) == [b, a]
    assert ids(db.executions(status={"PENDING", "FAILED"})) == [c, b]
    assert ids(db.executions(status=("LOST", "QUEUED"))) == []
    with pytest.raises(DatabaseError, match="unknown status 'BOGUS'"):
        db.executions(status="BOGUS")
    with pytest.raises(DatabaseError, match="at least one status"):
        db.executions(status=[])


def test_lost_and_running_as_readers_see_them_with_paging(db: Database) -> None:
    gone = Supervisor("node9", 4242, None, None)
    made = []
    for number in range(10):
        execution_id = start(db, supervisor=gone if number % 2 else None, run=number)
        db.set_status(execution_id, "RUNNING")
        made.append(execution_id)
    old = datetime.datetime.now(UTC) - datetime.timedelta(seconds=HEARTBEAT_LIMIT + 60)
    for execution_id in made[1::2]:
        set_column(db, execution_id, "heartbeat", old.isoformat(timespec="microseconds"))
    done = start(db)
    db.set_status(done, "LOST", error="recorded")
    lost = [done, *made[1::2][::-1]]
    running = made[0::2][::-1]
    assert ids(db.executions(status="LOST")) == lost
    assert ids(db.executions(status="RUNNING")) == running
    assert ids(db.executions(status=["RUNNING", "LOST"])) == sorted(lost + running, reverse=True)
    assert ids(db.executions(status="LOST", limit=2)) == lost[:2]
    assert ids(db.executions(status="LOST", limit=2, offset=2)) == lost[2:4]
    assert ids(db.executions(status="LOST", offset=5)) == lost[5:]
    assert ids(db.executions(status="RUNNING", limit=0)) == []
    everything = db.executions(limit=None)
    assert {r.status for r in everything} == {"RUNNING", "LOST"}
    assert [r.id for r in everything if r.status == "LOST"] == lost


def test_paging_with_limit_and_offset(db: Database) -> None:
    made = [start(db) for _ in range(7)][::-1]
    assert ids(db.executions(limit=3)) == made[:3]
    assert ids(db.executions(limit=3, offset=3)) == made[3:6]
    assert ids(db.executions(limit=3, offset=6)) == made[6:]
    assert ids(db.executions(limit=None, offset=2)) == made[2:]
    assert ids(db.executions(offset=50)) == []
    for bad in (-1, 1.5, True, None):
        with pytest.raises(DatabaseError, match="offset must be a non-negative int"):
            db.executions(offset=bad)  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="limit must be a non-negative int or None"):
        db.executions(limit=-1)


def test_time_filters_take_aware_datetimes_or_epoch_seconds(db: Database) -> None:
    base = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    made = []
    for hour in range(4):
        execution_id = start(db)
        moment = (base + datetime.timedelta(hours=hour)).isoformat(timespec="microseconds")
        set_column(db, execution_id, "created", moment)
        if hour >= 2:
            set_column(db, execution_id, "started", moment)
        made.append(execution_id)
    at_1 = base + datetime.timedelta(hours=1)
    assert ids(db.executions(created_after=at_1)) == made[:0:-1]  # at or after
    assert ids(db.executions(created_before=at_1)) == [made[0]]  # strictly before
    assert ids(db.executions(created_after=at_1.timestamp())) == made[:0:-1]
    assert ids(
        db.executions(
            created_after=int(at_1.timestamp()), created_before=at_1 + datetime.timedelta(hours=2)
        )
    ) == [made[2], made[1]]
    # Another time zone is the same instant.
    pacific = datetime.timezone(datetime.timedelta(hours=-7))
    assert ids(db.executions(created_after=at_1.astimezone(pacific))) == made[:0:-1]
    assert ids(db.executions(started_after=base)) == [made[3], made[2]]
    assert ids(db.executions(started_before=base + datetime.timedelta(hours=3))) == [made[2]]
    with pytest.raises(DatabaseError, match="created_after must be a timezone-aware datetime"):
        db.executions(created_after=datetime.datetime(2024, 5, 1))
    for bad in ("2024-05-01", float("nan"), True):
        with pytest.raises(DatabaseError, match="started_before must be a timezone-aware"):
            db.executions(started_before=bad)  # type: ignore[arg-type]


def test_recent_executions_by_epoch_seconds(db: Database) -> None:
    before = time.time()
    execution_id = start(db)
    assert ids(db.executions(created_after=before - 1)) == [execution_id]
    assert ids(db.executions(created_after=time.time() + 1)) == []
