"""The record of a run: log and report paths, warnings, results kept undecoded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from lute.io.db import Database, DatabaseError, default_db_path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(default_db_path(str(tmp_path)))
    yield database
    database.close()


def start(db: Database, **kwargs: Any) -> int:
    return db.start_execution(
        managed_task="Tester", task_name="Test", experiment="x", run=1, parameters={}, **kwargs
    ).execution_id


def paths(db: Database, execution_id: int) -> Any:
    record = db.execution(execution_id)
    return record.log_path, record.report_path


# ------------------------------------------------------------------ log and report paths


def test_paths_at_start_and_later(db: Database, tmp_path: Path) -> None:
    execution_id = start(db, log_path=tmp_path / "logs" / "Tester_1.log")
    assert paths(db, execution_id) == (str(tmp_path / "logs" / "Tester_1.log"), None)
    db.set_paths(execution_id, report_path="/w/reports/1.html")
    assert paths(db, execution_id) == (str(tmp_path / "logs" / "Tester_1.log"), "/w/reports/1.html")
    db.set_status(execution_id, "COMPLETED", exit_code=0, report_path="/w/reports/1b.html")
    assert paths(db, execution_id)[1] == "/w/reports/1b.html"
    # A status change that comes too late still records where things are.
    db.set_status(execution_id, "RUNNING", log_path="/w/late.log")
    assert paths(db, execution_id) == ("/w/late.log", "/w/reports/1b.html")
    assert db.execution(execution_id).status == "COMPLETED"
    db.set_paths(execution_id)  # nothing given: nothing changes
    assert paths(db, execution_id) == ("/w/late.log", "/w/reports/1b.html")


def test_path_errors(db: Database) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="log_path must be a string"):
        db.set_paths(execution_id, log_path=3)  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="no execution with id 42"):
        db.set_paths(42, log_path="/x")
    with pytest.raises(DatabaseError, match="report_path must be a string"):
        start(db, report_path=["/x"])


# ------------------------------------------------------------------ warnings


def test_warnings_are_kept_in_order_and_do_not_change_the_status(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "COMPLETED", exit_code=0)
    db.add_warning(execution_id, "after tasklet 'post' raised: ValueError: nope")
    db.add_warning(execution_id, "a message from rank 3 could not be decoded\nline two ✓")
    record = db.execution(execution_id)
    assert record.status == "COMPLETED" and record.error is None
    assert record.warnings == (
        "after tasklet 'post' raised: ValueError: nope",
        "a message from rank 3 could not be decoded\nline two ✓",
    )
    assert json.loads(json.dumps(record.to_dict()))["warnings"] == list(record.warnings)
    assert db.execution(start(db)).warnings == ()


def test_warning_errors(db: Database, tmp_path: Path) -> None:
    execution_id = start(db)
    for bad in ("", None, 3):
        with pytest.raises(DatabaseError, match="text must be a"):
            db.add_warning(execution_id, bad)  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="no execution with id 42"):
        db.add_warning(42, "x")
    with Database(db.path, readonly=True) as ro, pytest.raises(DatabaseError, match="read-only"):
        ro.add_warning(execution_id, "x")
    assert db.execution(execution_id).warnings == ()


# ------------------------------------------------------------------ results kept undecoded


def test_an_undecodable_result_keeps_its_bytes_and_error(db: Database) -> None:
    execution_id = start(db)
    (first,) = db.add_result(execution_id, {"Rate": 0.5})
    raw = b"\x80\x05\x95" + bytes(range(256)) * 4000  # a pickle needing numpy, say
    error = "ModuleNotFoundError: No module named 'numpy'"
    item = db.add_undecodable_result(execution_id, raw, error)
    results = db.results(execution_id)
    assert [r.id for r in results] == [first, item]
    kept = results[1]
    assert (kept.kind, kept.position, kept.error, kept.raw_size) == (
        "undecodable",
        1,
        error,
        len(raw),
    )
    assert kept.summary == "undecodable result (%d bytes): %s" % (len(raw), error)
    assert (kept.payload, kept.payload_type, kept.task_status) == (None, None, None)
    assert results[0].error is None and results[0].raw_size is None
    assert db.raw_result(item) == raw
    with Database(db.path, readonly=True) as ro:
        assert ro.raw_result(item) == raw
    # Later results continue the positions.
    (after,) = db.add_result(execution_id, "done")
    assert db.results(execution_id)[2].position == 2 and after > item


def test_undecodable_result_accepts_any_bytes_like(db: Database) -> None:
    execution_id = start(db)
    for raw in (bytearray(b"abc"), memoryview(b"abc"), b""):
        item = db.add_undecodable_result(execution_id, raw, "broken")
        assert db.raw_result(item) == bytes(raw)
    assert [r.raw_size for r in db.results(execution_id)] == [3, 3, 0]


def test_undecodable_result_errors(db: Database) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="raw must be bytes, got str"):
        db.add_undecodable_result(execution_id, "text", "x")  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="no execution with id 42"):
        db.add_undecodable_result(42, b"x", "x")
    (decoded,) = db.add_result(execution_id, "fine")
    with pytest.raises(DatabaseError, match=f"result {decoded} was decoded"):
        db.raw_result(decoded)
    with pytest.raises(DatabaseError, match="no result with id 999"):
        db.raw_result(999)
    assert len(db.results(execution_id)) == 1


def test_the_record_has_times_and_a_duration(db: Database) -> None:
    execution_id = start(db)
    record = db.execution(execution_id)
    assert record.duration is None and record.started_at is None and record.ended_at is None
    assert record.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    db.set_status(execution_id, "RUNNING")
    time.sleep(0.02)
    db.set_status(execution_id, "FAILED", exit_code=1)
    record = db.execution(execution_id)
    assert record.duration is not None and 0.02 <= record.duration < 60
    assert record.duration == (record.ended_at - record.started_at).total_seconds()  # type: ignore[operator]
    shown = json.loads(json.dumps(record.to_dict()))
    assert shown["duration"] == record.duration and shown["status"] == "FAILED"
