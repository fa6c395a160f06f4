"""The results database API on real SQLite files (one process)."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from typing import Any, Dict, Iterator

import pytest

from lute.io.db import (
    DEFAULT_DB_NAME,
    SCHEMA_VERSION,
    Database,
    DatabaseError,
    ExecutionRecord,
    PlotsRef,
    ResultRecord,
    default_db_path,
)
from lute.tasks.dataclasses import TaskStatus

PARAMS: Dict[str, Any] = {
    "lute_config": {"experiment": "xpp1234", "run": "0012", "work_dir": "/w"},
    "float_var": 0.01,
    "compound_var": {"int_var": 10, "dict_var": {"a": "b"}},
    "list_var": [1, 2],
}


@pytest.fixture
def db_path(tmp_path: Any) -> str:
    return default_db_path(str(tmp_path))


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    database = Database(db_path, journal_mode="WAL")
    yield database
    database.close()


def start(db: Database, task_name: str = "Test", run: Any = "0012", **kwargs: Any) -> int:
    options: Dict[str, Any] = dict(
        managed_task="Tester", experiment="xpp1234", parameters=PARAMS, run=run
    )
    options.update(kwargs)
    return db.start_execution(task_name=task_name, **options).execution_id


def raw(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


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
        with pytest.raises(DatabaseError, match="schema version 3, newer than version 2") as info:
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


# ------------------------------------------------------------------ start_execution


def test_start_execution_records_everything(db: Database, db_path: str) -> None:
    ids = db.start_execution(
        managed_task="Tester",
        task_name="Test",
        experiment="xpp1234",
        run="0012",
        parameters=PARAMS,
        work_dir="/w",
        host="node01",
        environment={"interpreter": "/env/bin/python", "kind": "venv"},
        versions={"lute": "0.1.0", "python": "3.11.7"},
        config_path="/w/config.yaml",
    )
    assert ids.execution_id >= 1
    assert ids.parameters_id is not None and ids.parameters_id >= 1
    assert ids.db_path == db_path
    record = db.execution(ids.execution_id)
    assert isinstance(record, ExecutionRecord)
    assert record.status == "PENDING"
    assert (record.managed_task, record.task_name) == ("Tester", "Test")
    assert (record.experiment, record.run, record.run_number) == ("xpp1234", "0012", 12)
    assert (record.host, record.work_dir, record.config_path) == ("node01", "/w", "/w/config.yaml")
    assert record.environment == {"interpreter": "/env/bin/python", "kind": "venv"}
    assert record.versions == {"lute": "0.1.0", "python": "3.11.7"}
    assert record.created.endswith("+00:00")
    assert record.started is None and record.ended is None
    assert not record.is_terminal
    assert record.to_dict()["environment"]["kind"] == "venv"


def test_host_defaults_to_this_machine(db: Database) -> None:
    import socket

    assert db.execution(start(db)).host == socket.gethostname()


def test_parameters_round_trip_and_are_queryable_by_path(db: Database, db_path: str) -> None:
    execution_id = start(db)
    assert db.parameters(execution_id) == PARAMS
    conn = raw(db_path)
    try:
        rows = dict(
            conn.execute(
                "SELECT path, value FROM parameter_view WHERE execution_id = ?", (execution_id,)
            )
        )
        value = conn.execute(
            "SELECT value FROM parameter_view WHERE task_name = 'Test'"
            " AND path = 'compound_var.int_var'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert rows["compound_var.dict_var.a"] == '"b"'
    assert rows["list_var"] == "[1,2]"
    assert rows["lute_config.run"] == '"0012"'
    assert value == "10"


def test_parameter_without_json_form_is_named(db: Database) -> None:
    with pytest.raises(DatabaseError, match=r"compound_var\.obj.*cannot be stored as JSON"):
        start(db, parameters={"compound_var": {"obj": object()}})
    assert db.executions() == []  # nothing half-written


def test_pydantic_model_is_accepted_as_parameters(db: Database) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Inner(pydantic.BaseModel):  # type: ignore[name-defined]
        int_var: int = 3

    class Model(pydantic.BaseModel):  # type: ignore[name-defined]
        float_var: float = 0.5
        compound_var: Inner = Inner()

    execution_id = start(db, parameters=Model())
    assert db.parameters(execution_id) == {"float_var": 0.5, "compound_var": {"int_var": 3}}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("managed_task", "", "managed_task must be a non-empty string"),
        ("task_name", None, "task_name must be a non-empty string"),
        ("experiment", 5, "experiment must be a string"),
        ("run", 1.5, "run must be a str or an int"),
        ("parameters", [1, 2], "parameters must be a mapping"),
        ("environment", [1], "environment must be a mapping"),
    ],
)
def test_start_execution_rejects_bad_arguments(
    db: Database, field: str, value: Any, message: str
) -> None:
    options: Dict[str, Any] = dict(
        managed_task="Tester", task_name="Test", experiment="x", run=1, parameters={}
    )
    options[field] = value
    with pytest.raises(DatabaseError, match=message):
        db.start_execution(**options)


# ------------------------------------------------------------------ set_status


def test_status_lifecycle_sets_started_and_ended(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "RUNNING", pid=4321)
    running = db.execution(execution_id)
    assert (running.status, running.pid) == ("RUNNING", 4321)
    assert running.started is not None and running.ended is None
    db.set_status(execution_id, TaskStatus.COMPLETED, exit_code=0)
    done = db.execution(execution_id)
    assert (done.status, done.exit_code) == ("COMPLETED", 0)
    assert done.started == running.started
    assert done.ended is not None and done.ended >= done.started
    assert done.is_terminal


def test_late_running_after_failed_is_ignored(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "FAILED", exit_code=1, error="Traceback ...\nValueError")
    failed = db.execution(execution_id)
    db.set_status(execution_id, "RUNNING", pid=99)
    db.set_status(execution_id, "PENDING")
    db.set_status(execution_id, "STOPPED")
    after = db.execution(execution_id)
    assert after.status == "FAILED"
    assert after.error == "Traceback ...\nValueError"
    assert after.started is None  # the late RUNNING did not start anything
    assert after.ended == failed.ended
    assert after.pid == 99  # the only detail a late message may still add


def test_terminal_status_can_be_corrected_by_a_later_terminal_one(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "COMPLETED")
    first = db.execution(execution_id)
    db.set_status(execution_id, "TIMEDOUT", signal=9, exit_code=-9)
    final = db.execution(execution_id)
    assert (final.status, final.signal, final.exit_code) == ("TIMEDOUT", "SIGKILL", -9)
    assert final.ended == first.ended  # the end time is when it first ended


def test_stopped_is_not_terminal(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "STOPPED")
    assert db.execution(execution_id).ended is None
    db.set_status(execution_id, "RUNNING")
    assert db.execution(execution_id).status == "RUNNING"


def test_signal_given_by_name_is_kept(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "CANCELLED", signal="SIGTERM")
    assert db.execution(execution_id).signal == "SIGTERM"


def test_set_status_errors(db: Database) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="no execution with id 999"):
        db.set_status(999, "RUNNING")
    with pytest.raises(DatabaseError, match="unknown status 'DONE'"):
        db.set_status(execution_id, "DONE")
    with pytest.raises(DatabaseError, match="exit_code must be an int"):
        db.set_status(execution_id, "FAILED", exit_code="1")  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="execution_id must be an int"):
        db.set_status("1", "FAILED")  # type: ignore[arg-type]
    assert db.execution(execution_id).status == "PENDING"


# ------------------------------------------------------------------ results


def test_add_result_stores_each_item_with_shared_payload(db: Database) -> None:
    execution_id = start(db)
    ids = db.add_result(
        execution_id,
        [{"Rate": 0.05, "Total": 10}, "note", PlotsRef("Scan", "/w/scan.html")],
        payload={"peaks": [1.5, 2.5]},
        task_status=TaskStatus.COMPLETED,
    )
    assert len(ids) == 3 and len(set(ids)) == 3
    results = db.results(execution_id)
    assert [r.id for r in results] == ids
    assert [(r.position, r.kind, r.summary) for r in results] == [
        (0, "dict", "Rate: 0.05;Total: 10"),
        (1, "text", "note"),
        (2, "plots", "/w/scan.html"),
    ]
    for record in results:
        assert isinstance(record, ResultRecord)
        assert record.payload == {"peaks": [1.5, 2.5]}
        assert record.payload_type == "dict"
        assert record.task_status == "COMPLETED"
        assert (record.task_name, record.experiment, record.run) == ("Test", "xpp1234", "0012")
    assert results[0].to_dict()["summary"] == "Rate: 0.05;Total: 10"


def test_positions_continue_across_calls(db: Database) -> None:
    execution_id = start(db)
    db.add_result(execution_id, "a")
    db.add_result(execution_id, ("b", "c"), payload=[1])
    assert [(r.position, r.summary, r.payload) for r in db.results(execution_id)] == [
        (0, "a", None),
        (1, "b", [1]),
        (2, "c", [1]),
    ]


def test_payload_without_json_form_is_stored_as_repr(db: Database) -> None:
    class Fit:
        def __repr__(self) -> str:
            return "Fit(a=1)"

    execution_id = start(db)
    db.add_result(execution_id, "fit", payload=Fit())
    (record,) = db.results(execution_id)
    assert record.payload == "Fit(a=1)"
    assert record.payload_type is not None and record.payload_type.endswith("Fit")


def test_none_summary_and_payload(db: Database) -> None:
    execution_id = start(db)
    db.add_result(execution_id, None)
    (record,) = db.results(execution_id)
    assert (record.kind, record.summary, record.payload, record.payload_type) == (
        "none",
        "",
        None,
        None,
    )


def test_add_result_errors(db: Database) -> None:
    with pytest.raises(DatabaseError, match="no execution with id 5"):
        db.add_result(5, "x")
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="unknown status"):
        db.add_result(execution_id, "x", task_status="GREAT")
    assert db.results(execution_id) == []


def test_results_of_unknown_execution_is_an_error(db: Database) -> None:
    with pytest.raises(DatabaseError, match="no execution with id 42"):
        db.results(42)
    with pytest.raises(DatabaseError, match="no execution with id 42"):
        db.parameters(42)
    with pytest.raises(DatabaseError, match="no execution with id 42"):
        db.execution(42)


# ------------------------------------------------------------------ messages


def test_add_messages_batch_and_read_back(db: Database) -> None:
    execution_id = start(db)
    db.add_messages(execution_id, [(0.0, 0, "hello"), (1.5, None, "world")])
    db.add_messages(execution_id, [])
    assert db.messages(execution_id) == [
        ("1970-01-01T00:00:00.000000+00:00", 0, "hello"),
        ("1970-01-01T00:00:01.500000+00:00", None, "world"),
    ]


def test_add_messages_names_the_bad_message(db: Database) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="message 1 must be a"):
        db.add_messages(execution_id, [(0.0, 0, "ok"), ("bad",)])  # type: ignore[list-item]
    with pytest.raises(DatabaseError, match="message 0: time"):
        db.add_messages(execution_id, [("noon", 0, "x")])  # type: ignore[list-item]
    with pytest.raises(DatabaseError, match="no execution with id 77"):
        db.add_messages(77, [(0.0, 0, "x")])
    assert db.messages(execution_id) == []


# ------------------------------------------------------------------ queries


def test_executions_filters_and_newest_first(db: Database) -> None:
    a = start(db, "FindPeaks", run=12)
    b = start(db, "FindPeaks", run="0013")
    c = start(db, "Other", run="0012", experiment="mfx99")
    db.set_status(b, "COMPLETED")
    assert [r.id for r in db.executions()] == [c, b, a]
    assert [r.id for r in db.executions(task_name="FindPeaks")] == [b, a]
    assert [r.id for r in db.executions(run=12)] == [c, a]  # "0012" == 12
    assert [r.id for r in db.executions(run="012")] == [c, a]
    assert [r.id for r in db.executions(experiment="mfx99")] == [c]
    assert [r.id for r in db.executions(status="COMPLETED")] == [b]
    assert [r.id for r in db.executions(status=["COMPLETED", "PENDING"], limit=2)] == [c, b]
    assert [r.id for r in db.executions(managed_task="nobody")] == []
    assert len(db.executions(limit=None)) == 3
    with pytest.raises(DatabaseError, match="limit"):
        db.executions(limit=-1)


def test_non_numeric_runs_match_exactly(db: Database) -> None:
    a = start(db, run="dark")
    start(db, run="Dark")
    assert [r.id for r in db.executions(run="dark")] == [a]


def test_latest_result_filters(db: Database) -> None:
    assert db.latest_result("FindPeaks") is None
    old = start(db, "FindPeaks", run=12)
    db.add_result(old, "old", payload=1)
    db.set_status(old, "COMPLETED")
    failed = start(db, "FindPeaks", run=12)
    db.add_result(failed, "failed", payload=2)
    db.set_status(failed, "FAILED")
    other_run = start(db, "FindPeaks", run=13)
    db.add_result(other_run, "run 13", payload=3)
    db.set_status(other_run, "COMPLETED")
    other_exp = start(db, "FindPeaks", run=12, experiment="mfx99")
    db.add_result(other_exp, ["mfx first", "mfx last"], payload=4)
    db.set_status(other_exp, "COMPLETED")

    latest = db.latest_result("FindPeaks", experiment="xpp1234", run="0012")
    assert latest is not None
    assert (latest.execution_id, latest.summary, latest.payload) == (old, "old", 1)
    any_status = db.latest_result("FindPeaks", experiment="xpp1234", run=12, status=None)
    assert any_status is not None and any_status.execution_id == failed
    failed_only = db.latest_result("FindPeaks", status=TaskStatus.FAILED)
    assert failed_only is not None and failed_only.execution_id == failed
    newest = db.latest_result("FindPeaks")
    assert newest is not None and (newest.execution_id, newest.summary) == (other_exp, "mfx last")
    assert db.latest_result("FindPeaks", run=14) is None
    assert db.latest_result("Nothing") is None


def test_latest_parameters_filters(db: Database) -> None:
    assert db.latest_parameters("Test") is None
    first = start(db, parameters={"x": 1})
    db.set_status(first, "COMPLETED")
    second = start(db, parameters={"x": 2})
    assert db.latest_parameters("Test") == {"x": 1}
    assert db.latest_parameters("Test", status=None) == {"x": 2}
    assert db.latest_parameters("Test", run=12, experiment="xpp1234") == {"x": 1}
    assert db.latest_parameters("Test", run=13) is None
    db.set_status(second, "COMPLETED")
    assert db.latest_parameters("Test") == {"x": 2}


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
