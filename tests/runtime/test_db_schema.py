"""Schema versions 2 and 3 and the upgrade of schema-1 files, on real SQLite files.

``data/db_schema_v1.sql`` is a database written by the schema-1 code (lute-runtime at
commit 08496f4, through ``Database``'s own methods) and dumped with ``iterdump()``: every
status, runs as text and numbers, JSON and repr payloads, plots, messages of several
ranks, text that needed cleaning, and a deleted execution (so the id sequences run ahead
of the highest ids).
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from lute.io.db import SCHEMA_VERSION, STATUSES, Database, DatabaseError, default_db_path
from lute.tasks.dataclasses import TaskStatus
from tests.runtime.db_helpers import run_at_once

V1_DUMP = Path(__file__).parent / "data" / "db_schema_v1.sql"
V1_EXECUTION_COLUMNS = (
    "id, managed_task, task_name, experiment, run, run_number, status, created, started,"
    " ended, exit_code, signal, host, user, pid, work_dir, environment, versions, error,"
    " config_path"
)
TABLES = ("executions", "parameters", "parameter_values", "task_results", "results", "messages")
WORKFLOW_TABLES = ("workflows", "workflow_nodes", "workflow_executions", "execution_parents")


def build_v1(path: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(V1_DUMP.read_text(encoding="utf-8"))
    finally:
        conn.close()


def snapshot(path: str) -> Dict[str, List[Tuple[Any, ...]]]:
    """Every schema-1 column of every row, and the id sequences."""
    columns = {
        "executions": V1_EXECUTION_COLUMNS,
        "task_results": "id, execution_id,"
        " task_status, payload, payload_type, payload_encoding, created",
        "messages": "id, execution_id, time, rank, text",
    }
    conn = sqlite3.connect(path)
    try:
        out = {
            table: conn.execute(
                f"SELECT {columns.get(table, '*')} FROM {table} ORDER BY 1, 2"
            ).fetchall()
            for table in TABLES
        }
        out["sqlite_sequence"] = conn.execute(
            "SELECT name, seq FROM sqlite_sequence WHERE name != 'submissions' ORDER BY name"
        ).fetchall()
        return out
    finally:
        conn.close()


def layout(path: str) -> Dict[str, Any]:
    """Columns, keys, indexes and views of a file, independent of how it was built."""
    conn = sqlite3.connect(path)
    try:
        out: Dict[str, Any] = {}
        for name, kind, sql in conn.execute(
            "SELECT name, type, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ):
            if kind == "table":
                out[name] = (
                    conn.execute(f"PRAGMA table_info({name})").fetchall(),
                    conn.execute(f"PRAGMA foreign_key_list({name})").fetchall(),
                    sorted(conn.execute(f"PRAGMA index_list({name})").fetchall()),
                    # CHECK constraints are only in the text; a rename quotes the name.
                    " ".join(sql.replace(f'"{name}"', name).split()),
                )
            else:
                out[name] = (kind, " ".join(sql.split()))
        out["autoindexes"] = sorted(
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_%'")
        )
        return out
    finally:
        conn.close()


@pytest.fixture
def v1_path(tmp_path: Path) -> str:
    path = default_db_path(str(tmp_path))
    build_v1(path)
    return path


def test_the_fixture_is_a_schema_1_file(v1_path: str) -> None:
    conn = sqlite3.connect(v1_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM executions").fetchone()[0] == 7
        statuses = {row[0] for row in conn.execute("SELECT status FROM executions")}
    finally:
        conn.close()
    assert statuses == {
        "PENDING",
        "RUNNING",
        "COMPLETED",
        "FAILED",
        "TIMEDOUT",
        "CANCELLED",
        "STOPPED",
    }


def test_upgrade_keeps_every_row_and_the_id_sequences(v1_path: str) -> None:
    before = snapshot(v1_path)
    Database(v1_path).close()
    assert snapshot(v1_path) == before
    conn = sqlite3.connect(v1_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # Before version 2 every received message was stored.
        counts = dict(conn.execute("SELECT id, messages_received FROM executions"))
        new_columns = conn.execute(
            "SELECT DISTINCT messages_dropped, supervisor_pid, heartbeat, warnings,"
            " submission_id, slurm_job_id FROM executions"
        ).fetchall()
        raw = conn.execute("SELECT DISTINCT raw, error FROM task_results").fetchall()
    finally:
        conn.close()
    assert counts == {1: 3, 2: 0, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0}
    assert new_columns == [(0, None, None, None, None, None)]
    assert raw == [(None, None)]


def test_ids_of_deleted_rows_stay_unused_after_the_upgrade(v1_path: str) -> None:
    with Database(v1_path) as db:
        ids = db.start_execution(
            managed_task="Tester", task_name="Test", experiment="x", run=1, parameters={"a": 1}
        )
        (item,) = db.add_result(ids.execution_id, "ok")
        # Execution 8 (parameters 8, task result 4, result 6) was deleted in schema 1.
        assert (ids.execution_id, ids.parameters_id, item) == (9, 9, 7)
        assert db.results(ids.execution_id)[0].id == 7


def test_upgraded_rows_read_back_as_they_were_written(v1_path: str) -> None:
    with Database(v1_path) as db:
        first = db.execution(1)
        assert (first.status, first.run, first.run_number, first.exit_code) == (
            "COMPLETED",
            "0012",
            12,
            0,
        )
        assert first.environment == {"interpreter": "/usr/bin/python3"}
        assert first.messages_received == 3 and first.messages_dropped == 0
        assert first.warnings == () and first.supervisor_pid is None
        assert [(r.kind, r.summary) for r in db.results(1)] == [
            ("dict", "Rate: 0.05;Total: 10"),
            ("plots", "/w/peak.html"),
            ("text", "done"),
            ("number", "3.5"),
        ]
        assert db.results(1)[0].payload == {"peaks": [1.5, 2.5]}
        assert db.results(1)[0].raw_size is None
        (failed_item,) = db.results(2)
        assert failed_item.payload.startswith("<object object at 0x")
        assert failed_item.payload_type == "object"
        assert db.messages(1) == [
            ("2024-05-01T12:00:00.000000+00:00", 0, "started fitting"),
            ("2024-05-01T12:00:01.500000+00:00", 1, "rank 1 says hi"),
            ("2024-05-01T12:00:02.000000+00:00", None, "multi\nline"),
        ]
        assert [m.id for m in db.messages(1)] == [1, 2, 3]
        model = db.parameters(2)
        assert math.isnan(model["nan_var"]) and model["text"] == "Zürich ✓"
        failed = db.execution(2)
        assert failed.signal == "SIGKILL" and failed.error.endswith("ValueError: bad \\udcff")
        # A RUNNING row of schema 1 names no supervisor: nobody can tell it is LOST.
        assert db.execution(3).status == "RUNNING"
        assert db.mark_lost() == []
        assert [e.id for e in db.executions(status="RUNNING")] == [3]
        assert db.latest_result("Test", experiment="xpp1234", run=12).summary == "3.5"
        assert db.execution(4).experiment is None
        conn = sqlite3.connect(v1_path)
        try:
            views = conn.execute(
                "SELECT count(*) FROM result_view UNION ALL SELECT count(*) FROM parameter_view"
            ).fetchall()
        finally:
            conn.close()
        assert views == [(5,), (63,)]


def test_an_upgraded_file_has_the_layout_of_a_new_one(v1_path: str, tmp_path: Path) -> None:
    Database(v1_path).close()
    fresh = str(tmp_path / "fresh.db")
    Database(fresh).close()
    assert layout(v1_path) == layout(fresh)


def test_readonly_open_of_a_schema_1_file_says_how_to_upgrade(v1_path: str) -> None:
    with pytest.raises(
        DatabaseError, match="older schema version 1; open it once without readonly"
    ):
        Database(v1_path, readonly=True)
    Database(v1_path).close()
    with Database(v1_path, readonly=True) as ro:
        assert ro.execution(1).status == "COMPLETED"


def test_an_upgrade_that_would_break_references_leaves_the_file_unchanged(v1_path: str) -> None:
    conn = sqlite3.connect(v1_path, isolation_level=None)
    conn.execute("INSERT INTO messages (execution_id, time, rank, text) VALUES (99, 't', 0, 'x')")
    conn.close()
    before = snapshot(v1_path)
    with pytest.raises(DatabaseError, match=r"references do not resolve.*the file is unchanged"):
        Database(v1_path)
    assert snapshot(v1_path) == before
    conn = sqlite3.connect(v1_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM result_view").fetchone()[0] == 5
    finally:
        conn.close()


def test_the_status_constraints_know_every_status(tmp_path: Path) -> None:
    path = default_db_path(str(tmp_path))
    with Database(path) as db:
        execution_id = db.start_execution(
            managed_task="M", task_name="T", experiment=None, run=None, parameters={}
        ).execution_id
        db.add_result(execution_id, "x", task_status="LOST")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for status in STATUSES:
            conn.execute("UPDATE executions SET status = ? WHERE id = ?", (status, execution_id))
            conn.execute("UPDATE task_results SET task_status = ?", (status,))
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE executions SET status = 'DONE'")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE task_results SET task_status = 'DONE'")
    finally:
        conn.close()


def test_queued_and_lost_extend_task_status() -> None:
    assert TaskStatus("QUEUED") is TaskStatus.QUEUED and str(TaskStatus.LOST) == "LOST"
    assert not TaskStatus.QUEUED.is_terminal
    assert TaskStatus.LOST.is_terminal
    # Every status there was keeps its value and its terminality.
    terminal = {
        "COMPLETED": True,
        "FAILED": True,
        "CANCELLED": True,
        "TIMEDOUT": True,
        "PENDING": False,
        "RUNNING": False,
        "STOPPED": False,
    }
    for name, is_terminal in terminal.items():
        assert TaskStatus[name].value == name and TaskStatus[name].is_terminal is is_terminal
    assert [s.name for s in TaskStatus][:7] == [
        "PENDING",
        "RUNNING",
        "COMPLETED",
        "FAILED",
        "STOPPED",
        "CANCELLED",
        "TIMEDOUT",
    ]


UPGRADER = """
import sys
from lute.io.db import Database
with Database(sys.argv[1]) as db:
    print(db.execution(1).status, len(db.executions(limit=None)))
"""


def test_many_processes_opening_a_schema_1_file_at_once_upgrade_it_once(v1_path: str) -> None:
    before = snapshot(v1_path)
    outputs = run_at_once(UPGRADER, [v1_path], 6)
    assert outputs == [(0, "COMPLETED 7\n", "")] * 6
    assert snapshot(v1_path) == before
    conn = sqlite3.connect(v1_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        conn.close()
    # No half-built table is left behind.
    assert sorted(tables) == sorted([*TABLES, "sqlite_sequence", "submissions", *WORKFLOW_TABLES])
