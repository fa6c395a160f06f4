"""Opening a results database, read-only use and locking, on real SQLite files (one process).

The methods that write and read executions are tested in ``test_db_api.py``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from typing import Any, Iterator

import pytest

from lute.io.db import (
    DEFAULT_DB_NAME,
    SCHEMA_VERSION,
    Database,
    DatabaseError,
    default_db_path,
)
from tests.runtime.db_helpers import PARAMS, raw, start


@pytest.fixture
def db_path(tmp_path: Any) -> str:
    return default_db_path(str(tmp_path))


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    database = Database(db_path, journal_mode="WAL")
    yield database
    database.close()


# ------------------------------------------------------------------ opening, schema


def test_default_path_is_lute_db_in_the_work_dir(tmp_path: Any) -> None:
    assert DEFAULT_DB_NAME == "lute.db"
    assert default_db_path(str(tmp_path)) == os.path.join(str(tmp_path), "lute.db")
    assert os.path.isabs(default_db_path("relative/dir"))


def test_new_file_gets_schema_wal_and_version(db: Database, db_path: str) -> None:
    assert os.path.isfile(db_path)
    assert db.journal_mode == "WAL"
    conn = raw(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    expected = {
        "executions",
        "parameters",
        "parameter_values",
        "task_results",
        "results",
        "messages",
        "result_view",
        "parameter_view",
    }
    assert expected <= names


def test_reopening_keeps_the_data(db_path: str) -> None:
    with Database(db_path) as first:
        execution_id = start(first)
    with Database(db_path) as second:
        assert second.execution(execution_id).task_name == "Test"


def test_missing_directory_is_named(tmp_path: Any) -> None:
    path = str(tmp_path / "nope" / "lute.db")
    with pytest.raises(DatabaseError, match=r"directory .*nope does not exist"):
        Database(path)


def test_readonly_open_of_missing_file_names_the_path(tmp_path: Any) -> None:
    path = str(tmp_path / "absent.db")
    with pytest.raises(DatabaseError, match=re.escape(path + " does not exist")):
        Database(path, readonly=True)
    assert not os.path.exists(path)


def test_newer_schema_version_is_a_clear_error(db_path: str) -> None:
    Database(db_path).close()
    conn = raw(db_path)
    conn.execute("PRAGMA user_version=%d" % (SCHEMA_VERSION + 1))
    conn.close()
    for readonly in (False, True):
        with pytest.raises(DatabaseError, match="schema version 4, newer than version 3") as info:
            Database(db_path, readonly=readonly)
        assert db_path in str(info.value)


def test_foreign_sqlite_file_is_refused(tmp_path: Any) -> None:
    path = str(tmp_path / "other.db")
    conn = raw(path)
    conn.execute("CREATE TABLE stuff (x)")
    conn.close()
    with pytest.raises(DatabaseError, match="not a LUTE results database"):
        Database(path)
    with pytest.raises(DatabaseError, match="not a LUTE results database"):
        Database(path, readonly=True)


def test_other_application_id_is_refused(tmp_path: Any) -> None:
    path = str(tmp_path / "app.db")
    conn = raw(path)
    conn.execute("PRAGMA application_id=1234")
    conn.close()
    with pytest.raises(DatabaseError, match="another application"):
        Database(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "lute.db"
    path.write_text("this is not a database, it is a text file with enough bytes " * 20)
    with pytest.raises(DatabaseError, match=re.escape(str(path))):
        Database(str(path))


def test_bad_constructor_arguments(db_path: str) -> None:
    with pytest.raises(DatabaseError, match="timeout"):
        Database(db_path, timeout=0)
    with pytest.raises(DatabaseError, match="journal mode"):
        Database(db_path, journal_mode="MEMORY")
    with pytest.raises(DatabaseError, match="path"):
        Database("")


def test_journal_mode_override_from_environment(db_path: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("LUTE_DB_JOURNAL_MODE", "DELETE")
    with Database(db_path) as db:
        assert db.journal_mode == "DELETE"
        start(db)
    conn = raw(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        conn.close()


def test_closed_database_refuses_use(db_path: str) -> None:
    db = Database(db_path)
    db.close()
    db.close()  # idempotent
    with pytest.raises(DatabaseError, match="closed"):
        db.executions()
    assert "closed" in repr(db)


# ------------------------------------------------------------------ readonly


def test_readonly_reads_while_a_writer_is_open(db: Database, db_path: str) -> None:
    execution_id = start(db)
    db.add_result(execution_id, "r")
    with Database(db_path, readonly=True) as reader:
        assert reader.readonly
        assert reader.results(execution_id)[0].summary == "r"
        db.set_status(execution_id, "COMPLETED")  # writer continues meanwhile
        assert reader.execution(execution_id).status == "COMPLETED"
        with pytest.raises(DatabaseError, match="read-only"):
            reader.add_result(execution_id, "no")
        with pytest.raises(DatabaseError, match="read-only"):
            start(reader)


def test_readonly_open_after_all_writers_closed(db_path: str) -> None:
    with Database(db_path) as writer:
        execution_id = start(writer)
    with Database(db_path, readonly=True) as reader:
        assert reader.parameters(execution_id) == PARAMS


# ------------------------------------------------------------------ locking behaviour


def test_write_waits_for_another_writer_then_succeeds(db: Database, db_path: str) -> None:
    execution_id = start(db)
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    # The write below has to wait for this lock; another thread releases it shortly.
    timer = threading.Timer(0.3, blocker.execute, ("COMMIT",))
    timer.start()
    try:
        db.add_result(execution_id, "after the lock")
    finally:
        timer.join(10)
        blocker.close()
    assert [r.summary for r in db.results(execution_id)] == ["after the lock"]


def test_write_gives_up_with_clear_error_when_locked_too_long(db_path: str) -> None:
    with Database(db_path) as setup:
        execution_id = start(setup)
    db = Database(db_path, timeout=0.3)
    blocker = raw(db_path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="locked") as info:
            db.add_result(execution_id, "never")
        assert db_path in str(info.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # The connection is still usable afterwards.
    db.add_result(execution_id, "later")
    assert [r.summary for r in db.results(execution_id)] == ["later"]
    db.close()


def test_one_database_shared_by_threads(db: Database) -> None:
    execution_id = start(db)
    errors = []

    def work(tag: int) -> None:
        try:
            for i in range(50):
                db.add_result(execution_id, "t%d-%d" % (tag, i))
                db.executions(limit=1)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    results = db.results(execution_id)
    assert len(results) == 200
    assert [r.position for r in results] == list(range(200))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_gets_its_own_connection(db: Database) -> None:
    execution_id = start(db)
    pid = os.fork()
    if pid == 0:  # child: must not use the parent's connection
        code = 1
        try:
            db.add_result(execution_id, "from child")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    db.add_result(execution_id, "from parent")
    assert [r.summary for r in db.results(execution_id)] == ["from child", "from parent"]
