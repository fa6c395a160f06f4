"""An original LUTE database (layout v1), built here from its layout: refused with the
command that imports it, imported, and read back with the original's reader."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lute.io.db import Database, DatabaseError, read_latest_db_entry


def build_original_database(path: Path) -> None:
    """An original LUTE database, from its layout: headers, executors, a table per Task."""
    conn = sqlite3.connect(str(path))
    conn.executescript(
        """
        CREATE TABLE gen_cfg (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT,
            experiment TEXT, run TEXT, date TEXT, lute_version REAL, task_timeout INTEGER);
        CREATE TABLE exec_cfg (id INTEGER PRIMARY KEY AUTOINCREMENT, env TEXT,
            poll_interval REAL, communicator_desc TEXT);
        CREATE TABLE Test (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp DATETIME,
            gen_cfg_id INTEGER, exec_cfg_id INTEGER, float_var REAL, str_var TEXT,
            "compound_var.int_var" INTEGER, "compound_var.dict_var.a" TEXT,
            throw_error INTEGER, "result.task_status" TEXT, "result.summary" TEXT,
            "result.payload" BLOB, "result.impl_schemas" TEXT, valid_flag INTEGER);
        CREATE TABLE TestWriteOutput (id INTEGER PRIMARY KEY AUTOINCREMENT,
            timestamp DATETIME, gen_cfg_id INTEGER, exec_cfg_id INTEGER,
            outfile_name TEXT, num_vals INTEGER, "result.task_status" TEXT,
            "result.summary" TEXT, "result.payload" BLOB, "result.impl_schemas" TEXT,
            valid_flag INTEGER);
        INSERT INTO gen_cfg VALUES (1, 'LUTE Task Configuration', 'TST12345', '12',
            '2023/10/25', 0.1, 600);
        INSERT INTO gen_cfg VALUES (2, 'LUTE Task Configuration', 'TST12345', '13',
            '2023/10/26', 0.1, 600);
        INSERT INTO exec_cfg VALUES (1, 'LUTE_CONFIGPATH=/sdf/c.yaml;SLURM_JOB_ID=99', 0.05,
            'PipeCommunicator: pipes;SocketCommunicator: socket');
        INSERT INTO Test VALUES (1, '2023-10-25 10:00:00', 1, 1, 0.01, 'test', 10, 'b', 0,
            'COMPLETED', 'Test Finished.', 'payload one', NULL, 1);
        INSERT INTO Test VALUES (2, '2023-10-25 11:00:00', 1, 1, 0.5, 'test', 11, 'b', 1,
            'FAILED', '', '', NULL, 0);
        INSERT INTO TestWriteOutput VALUES (1, '2023-10-26 09:00:00', 2, 1, 'out.txt', 100,
            'COMPLETED', 'Completed task successfully.', '/tmp/out.txt', NULL, 1);
        INSERT INTO Test VALUES (3, '2023-10-26 12:00:00', 2, 1, 0.2, 'run 13', 12, 'c', 0,
            'RUNNING', '', '', NULL, 0);
        INSERT INTO TestWriteOutput VALUES (2, '2023-10-26 08:00:00', 2, 1, 'stale.txt', 5,
            'COMPLETED', 'Completed task successfully.', '/tmp/stale.txt', NULL, 0);
        """
    )
    conn.commit()
    conn.close()


def test_opening_an_original_database_says_how_to_import_it(tmp_path: Path) -> None:
    original = tmp_path / "lute.db"
    build_original_database(original)
    for readonly in (True, False):
        with pytest.raises(DatabaseError, match="lute-exec db import %s" % original):
            Database(str(original), readonly=readonly)
    with pytest.raises(DatabaseError, match="written by the original LUTE"):
        read_latest_db_entry(str(tmp_path), "Test", "float_var")


def test_an_original_database_is_imported(tmp_path: Path) -> None:
    original = tmp_path / "old" / "lute.db"
    original.parent.mkdir()
    build_original_database(original)
    before = original.read_bytes()
    target = tmp_path / "work" / "lute.db"
    target.parent.mkdir()
    with Database(str(target)) as db:
        assert len(db.import_original(str(original))) == 5
        assert db.import_original(str(original)) == []  # nothing twice
    assert original.read_bytes() == before  # never changed

    with Database(str(target), readonly=True) as db:
        records = list(reversed(db.executions(limit=None)))
        assert [(r.task_name, r.run, r.status) for r in records] == [
            ("Test", "12", "COMPLETED"),
            ("Test", "12", "FAILED"),
            ("TestWriteOutput", "13", "COMPLETED"),
            ("TestWriteOutput", "13", "COMPLETED"),
            ("Test", "13", "LOST"),
        ]
        # valid_flag 0 on a COMPLETED row: kept COMPLETED, with a warning saying so.
        assert records[2].warnings == ("marked not valid (valid_flag 0) in the original database",)
        assert [r.warnings for r in records if r is not records[2]] == [()] * 4
        first = records[0]
        assert first.created == "2023-10-25T10:00:00.000000+00:00" == first.ended
        assert first.environment["variables"] == {
            "LUTE_CONFIGPATH": "/sdf/c.yaml",
            "SLURM_JOB_ID": "99",
        }
        assert first.environment["original_table"] == "Test"
        assert first.versions == {"lute": "0.1"}
        assert db.parameters(first.id) == {
            "float_var": 0.01,
            "str_var": "test",
            "compound_var": {"int_var": 10, "dict_var": {"a": "b"}},
            "throw_error": 0,
            "lute_config": {
                "title": "LUTE Task Configuration",
                "experiment": "TST12345",
                "run": "12",
                "date": "2023/10/25",
                "lute_version": 0.1,
                "task_timeout": 600,
            },
        }
        [result] = db.results(first.id)
        assert (result.summary, result.payload) == ("Test Finished.", "payload one")
        assert "how it ended was never recorded" in (records[4].error or "")
    work = str(target.parent)
    # The history answers the original's reader as the original file did.
    assert read_latest_db_entry(work, "TestWriteOutput", "outfile_name") == "out.txt"
    assert read_latest_db_entry(work, "Test", "compound_var.dict_var.a", for_run=12) == "b"
    assert read_latest_db_entry(work, "Test", "float_var", valid_only=False, for_run=12) == 0.5
    assert read_latest_db_entry(work, "Test", "result.summary") == "Test Finished."
    assert read_latest_db_entry(work, "TestWriteOutput", "result.payload") == "/tmp/out.txt"


def test_an_entry_the_original_marked_not_valid_is_not_read_as_valid(tmp_path: Path) -> None:
    """valid_only=True skipped valid_flag 0 in the original: it still does after import."""
    original = tmp_path / "old" / "lute.db"
    original.parent.mkdir()
    build_original_database(original)
    conn = sqlite3.connect(str(original))
    conn.execute(  # the newest entry, COMPLETED but marked not valid
        "INSERT INTO TestWriteOutput VALUES (3, '2023-10-27 08:00:00', 2, 1, 'bad.txt', 5,"
        " 'COMPLETED', 'Completed task successfully.', '/tmp/bad.txt', NULL, 0)"
    )
    conn.commit()
    conn.close()
    with Database(str(tmp_path / "lute.db")) as db:
        db.import_original(str(original))
    work = str(tmp_path)
    assert read_latest_db_entry(work, "TestWriteOutput", "outfile_name") == "out.txt"
    assert read_latest_db_entry(work, "TestWriteOutput", "result.payload") == "/tmp/out.txt"
    assert read_latest_db_entry(work, "TestWriteOutput", "result.task_status") == "COMPLETED"
    every = dict(valid_only=False)
    assert read_latest_db_entry(work, "TestWriteOutput", "outfile_name", **every) == "bad.txt"
    assert read_latest_db_entry(work, "TestWriteOutput", "result.payload", **every) == (
        "/tmp/bad.txt"
    )


def test_for_run_defaults_to_the_run_in_the_environment_at_each_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = tmp_path / "old" / "lute.db"
    original.parent.mkdir()
    build_original_database(original)
    with Database(str(tmp_path / "lute.db")) as db:
        db.import_original(str(original))
    work = str(tmp_path)
    monkeypatch.setenv("RUN", "12")
    assert read_latest_db_entry(work, "Test", "float_var", valid_only=False) == 0.5
    assert read_latest_db_entry(work, "TestWriteOutput", "outfile_name") is None
    monkeypatch.setenv("RUN", "13")  # read again at the next call, not at import
    assert read_latest_db_entry(work, "Test", "float_var", valid_only=False) == 0.2
    assert read_latest_db_entry(work, "TestWriteOutput", "outfile_name") == "out.txt"
    assert read_latest_db_entry(work, "Test", "float_var", for_run=12) == 0.01  # given: wins


def test_the_reader_gives_a_placeholder_for_a_result_a_workflow_will_produce(
    tmp_path: Path,
) -> None:
    """While a workflow is checked, an upstream node's Task has no row yet: the original
    reader hands the placeholder (the job's own validation reads the real value)."""
    from lute.io.db import PendingResult, pending_results

    with pending_results({"TestWriteOutput": "write"}) as handed:
        value = read_latest_db_entry(str(tmp_path), "TestWriteOutput", "outfile_name")
    assert isinstance(value, PendingResult) and value.node == "write"
    assert handed == [value]
    # Outside the check, the same call reads the (missing) database as before.
    assert read_latest_db_entry(str(tmp_path), "TestWriteOutput", "outfile_name") is None
