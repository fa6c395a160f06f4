"""The results database API on real SQLite files (one process): recording executions,
their statuses, results and messages, and the queries.

Opening, read-only use and locking are tested in ``test_db_open.py``.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest

from lute.io.db import (
    Database,
    DatabaseError,
    ExecutionRecord,
    PlotsRef,
    ResultRecord,
    default_db_path,
)
from lute.tasks.dataclasses import TaskStatus
from tests.runtime.db_helpers import PARAMS, raw, start


@pytest.fixture
def db_path(tmp_path: Any) -> str:
    return default_db_path(str(tmp_path))


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    database = Database(db_path, journal_mode="WAL")
    yield database
    database.close()


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
