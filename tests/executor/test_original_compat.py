"""The original LUTE's config, database, names and behaviours, each on its own.

The config is the original's ``config/test_local.yaml`` format with its test sections,
loaded unchanged (only the work directory is this test's); the database is built here
from the original layout (v1) and imported.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any, Dict, List

import pytest

from lute.execution.ipc import Message
from lute.io.db import Database, DatabaseError, read_latest_db_entry
from tests.conftest import lute_exec

ORIGINAL_TEST_LOCAL = """\
%YAML 1.3
---
title: "LUTE Task Configuration" # Include experiment description if desired
experiment: "TST12345"
date: "2023/10/25"
lute_version: 0.2.0      # Do not be change unless need to force older version
task_timeout: 600
work_dir: "{work_dir}"
...
---
Test:
  float_var: 0.01
  str_var: "test"
  compound_var:
    int_var: 10
    dict_var: {{"a": "b"}}
  throw_error: False # Set True to test Task failure

TestBinary:
  executable: "/sdf/home/d/dorlhiac/test_tasks/test_threads"
  p_arg1: 4 # Number of cores

TestBinaryErr:
  executable: "/sdf/home/d/dorlhiac/test_tasks/test_threads_err"
  p_arg1: 4 # Number of cores

TestSocket:
  array_size: 8000 # Size of arrays to send. 8000 floats ~ 6.4e4
  num_arrays: 10 # Number of arrays to send.
...
"""


BIN_FALSE = ["TestBinaryErr.executable=/bin/false"]  # the original's program is not here


@pytest.fixture
def original_config(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    path = tmp_path / "test_local.yaml"
    path.write_text(ORIGINAL_TEST_LOCAL.format(work_dir=tmp_path / "work"))
    return path


def test_the_original_test_config_loads_unchanged(original_config: Path) -> None:
    from lute.io.config import check_config, load_config

    assert check_config(str(original_config)) == []
    test = load_config(str(original_config), "Test").model
    assert (test.compound_var.int_var, test.throw_error) == (10, False)
    failing = load_config(str(original_config), "TestBinaryErr").model
    assert (failing.executable, failing.p_arg1) == (
        "/sdf/home/d/dorlhiac/test_tasks/test_threads_err",
        4,
    )
    assert load_config(str(original_config), "TestSocket").model.array_size == 8000
    assert load_config(str(original_config), "TestBinary").model.p_arg1 == "4"


def test_every_original_test_managed_task_is_here() -> None:
    from lute.managed_tasks import get_managed_task

    for name, task in {
        "Tester": "Test",
        "BinaryTester": "TestBinary",
        "BinaryErrTester": "TestBinaryErr",
        "SocketTester": "TestSocket",
        "WriteTester": "TestWriteOutput",
        "ReadTester": "TestReadOutput",
        "MultiNodeCommunicationTester": "TestMultiNodeCommunication",
    }.items():
        assert get_managed_task(name).task_name == task


def test_binary_err_tester_fails_with_its_exit_code(original_config: Path) -> None:
    done = lute_exec(["run", "-c", str(original_config), "-t", "BinaryErrTester", *BIN_FALSE])
    assert done.returncode == 1, done.stderr
    with Database(str(original_config.parent / "work" / "lute.db"), readonly=True) as db:
        [record] = db.executions()
    assert (record.task_name, record.status, record.exit_code) == ("TestBinaryErr", "FAILED", 1)
    assert record.environment["argv"] is not None


def test_a_sweep_point_runs_its_own_section(original_config: Path) -> None:
    """As the original's sweeps write them: Test_1 is a section of Test, run as Tester_1."""
    point = "Test_1:\n  float_var: 0.5\n  compound_var: {int_var: 3}\n\nTestSocket:"
    original_config.write_text(original_config.read_text().replace("TestSocket:", point))
    from lute.io.config import check_config

    assert check_config(str(original_config)) == []
    done = lute_exec(["run", "-c", str(original_config), "-t", "Tester_1"])
    assert done.returncode == 0, done.stderr
    with Database(str(original_config.parent / "work" / "lute.db"), readonly=True) as db:
        [record] = db.executions()
        parameters = db.parameters(record.id)
    assert (record.managed_task, record.task_name) == ("Tester_1", "Test")
    assert (parameters["float_var"], parameters["compound_var"]["int_var"]) == (0.5, 3)


def test_an_unknown_sweep_base_is_an_unknown_managed_task() -> None:
    from lute.managed_tasks import ManagedTaskNotFound, get_managed_task

    with pytest.raises(ManagedTaskNotFound, match="no managed task named 'Nothing_0'"):
        get_managed_task("Nothing_0")


# The header's defaults from the eLog's job launcher -----------------------------------


def test_header_defaults_come_from_the_job_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    from lute.io.models.base import AnalysisHeader

    monkeypatch.setenv("EXPERIMENT", "mfxl1013621")
    monkeypatch.setenv("RUN_NUM", "42_2026-12-01T10:00:00")
    header = AnalysisHeader()
    assert (header.experiment, header.run) == ("mfxl1013621", 42)
    assert AnalysisHeader(experiment="xpp1", run=3).run == 3  # the config wins
    monkeypatch.delenv("RUN_NUM")
    monkeypatch.delenv("EXPERIMENT")
    assert (AnalysisHeader().experiment, AnalysisHeader().run) == ("", "")


# Tasklets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("{{ run }}", 12),
        ("{{run}}", 12),
        ("{{ lute_config.run }}", 12),
        ("{{ width }}", 0.5),
        ("{{ name }}", "peaks"),
        ("r{{ lute_config.run }}/{{ name }}", "r12/peaks"),
        ("{{ items }}", "[1, 2]"),  # the original put in the text
        ("{run}", "12"),  # this project's spelling keeps the value's type
        ("{items}", [1, 2]),
    ],
)
def test_tasklet_placeholders_in_both_spellings(argument: str, expected: Any) -> None:
    from lute.execution.tasklets import fill_placeholders

    parameters = {"run": "12", "lute_config": {"run": 12}, "width": 0.5, "name": "peaks"}
    parameters["items"] = [1, 2]
    assert fill_placeholders(argument, parameters) == expected


def test_an_unknown_tasklet_placeholder_stops_the_run_before_launch(tmp_path: Path) -> None:
    from lute.execution.errors import ExecutorError
    from lute.execution.executor import Executor

    config = tmp_path / "c.yaml"
    config.write_text(ORIGINAL_TEST_LOCAL.format(work_dir=tmp_path / "work"))
    executor = Executor("Test")
    executor.add_tasklet(print, ["{{ no_such_parameter }}"], when="before")
    with pytest.raises(ExecutorError, match="no_such_parameter"):
        executor.execute_task(str(config))
    assert not (tmp_path / "work" / "lute.db").exists()


def test_update_environment_takes_a_function_called_at_launch(tmp_path: Path) -> None:
    from lute.execution.errors import ExecutorError
    from lute.execution.executor import Executor

    calls: List[int] = []

    def variables() -> Dict[str, str]:
        calls.append(1)
        return {"PATH": "/only/this", "MEC_MODE": "fast"}

    executor = Executor("Test")
    executor.update_environment({"OTHER": "1"})
    executor.update_environment(variables)
    assert calls == []  # not when it is defined
    env = executor.resolve_environment().env
    assert (env["PATH"], env["MEC_MODE"], env["OTHER"]) == ("/only/this", "fast", "1")
    assert calls == [1]
    broken = Executor("Test")
    broken.update_environment(lambda: ["not", "a", "mapping"])  # type: ignore[arg-type, return-value]
    with pytest.raises(ExecutorError, match="must return a mapping"):
        broken.resolve_environment()


# TASK_LOG and get_logger ---------------------------------------------------------------


class _Channel:
    """A stand-in Communicator with the WELCOME of an Executor of some version."""

    def __init__(self, welcome: Dict[str, Any]) -> None:
        from lute.execution.ipc._communicator import Communicator

        self.peer_info = welcome
        self.sent: List[Message] = []
        self.accepts = lambda signal: Communicator.accepts(self, signal)  # type: ignore[arg-type]

    def send(self, message: Message) -> None:
        self.sent.append(message)


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Any:
    from lute.tasks import _context

    def install(welcome: Dict[str, Any]) -> _Channel:
        made = _Channel(welcome)
        monkeypatch.setattr(_context, "_communicator", made)
        return made

    return install


def test_log_records_travel_as_task_log_to_an_executor_that_knows_it(channel: Any) -> None:
    from lute.execution.ipc import LUTE_SIGNALS
    from lute.execution.logging import get_logger

    sent = channel({"signals": list(LUTE_SIGNALS)}).sent
    logger = get_logger("mec.fit")
    logger.warning("only %d peaks", 3)
    [message] = sent
    assert message.signal == "TASK_LOG"
    assert message.contents["level"] == "WARNING" and message.contents["name"] == "mec.fit"
    assert message.contents["message"] == "only 3 peaks"
    assert len(get_logger("mec.fit").handlers) == 1  # asking again adds no handler


def test_log_records_are_plain_messages_for_an_executor_of_the_previous_version(
    channel: Any,
) -> None:
    """An older Executor's WELCOME lists no signals: it would refuse TASK_LOG."""
    from lute.execution.logging import get_logger

    sent = channel({"protocol": 1}).sent
    get_logger("mec.old").error("detector missing")
    [message] = sent
    assert (message.signal, message.contents) == ("", "ERROR:mec.old: detector missing")


def test_an_older_task_s_text_records_keep_their_level() -> None:
    """The default hook reads the original's text records too."""
    from lute.execution import hooks

    class State:
        def __init__(self) -> None:
            self.kept: List[Any] = []
            self.console = self

        def add_message(self, text: str, level: Any = None) -> str:
            self.kept.append((text, level))
            return text

        def line(self, text: str) -> None:
            self.kept.append(text)

        def last_message(self, text: str) -> None:
            pass

    state = State()
    original = hooks._state
    hooks._state = lambda executor: state  # type: ignore[assignment]
    try:
        hooks.task_log(None, Message("TASK_LOG -- INFO:mec.fit: converged", "TASK_LOG"))
    finally:
        hooks._state = original
    assert state.kept == [("mec.fit: converged", "INFO"), "INFO mec.fit: converged"]


def test_get_logger_outside_a_task_writes_to_stderr(capsys: Any) -> None:
    from lute.execution.logging import get_logger

    get_logger("mec.here").info("standalone")
    assert "INFO:mec.here: standalone" in capsys.readouterr().err
    executor_side = get_logger("mec.executor", is_task=False)
    assert executor_side.level in (logging.DEBUG, logging.INFO) and not executor_side.propagate


def test_lute_debug_exit(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from lute.execution.debug_utils import LUTE_DEBUG_EXIT

    LUTE_DEBUG_EXIT("LUTE_TEST_DEBUG_STOP")  # unset: goes on
    monkeypatch.setenv("LUTE_TEST_DEBUG_STOP", "1")
    with pytest.raises(SystemExit) as stopped:
        LUTE_DEBUG_EXIT("LUTE_TEST_DEBUG_STOP", "state dump")
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "LUTE_DEBUG_EXIT - %s" % __file__ in out and "state dump" in out


# An original (v1) database ------------------------------------------------------------


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
    done = lute_exec(["db", "import", str(original), "--into", str(target)])
    assert done.returncode == 0, done.stderr
    assert "imported 4 executions" in done.stdout
    assert original.read_bytes() == before  # never changed
    again = lute_exec(["db", "import", str(original), "--into", str(target)])
    assert "imported 0 executions" in again.stdout  # nothing twice

    with Database(str(target), readonly=True) as db:
        records = list(reversed(db.executions(limit=None)))
        assert [(r.task_name, r.run, r.status) for r in records] == [
            ("Test", "12", "COMPLETED"),
            ("Test", "12", "FAILED"),
            ("TestWriteOutput", "13", "COMPLETED"),
            ("Test", "13", "LOST"),
        ]
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
        assert "how it ended was never recorded" in (records[3].error or "")
    work = str(target.parent)
    # The history answers the original's reader as the original file did.
    assert read_latest_db_entry(work, "TestWriteOutput", "outfile_name") == "out.txt"
    assert read_latest_db_entry(work, "Test", "compound_var.dict_var.a", for_run=12) == "b"
    assert read_latest_db_entry(work, "Test", "float_var", valid_only=False, for_run=12) == 0.5
    assert read_latest_db_entry(work, "Test", "result.summary") == "Test Finished."
    assert read_latest_db_entry(work, "TestWriteOutput", "result.payload") == "/tmp/out.txt"
