"""The original LUTE's config, database, names and behaviours, each on its own.

The config is the original's ``config/test_local.yaml`` format with its test sections,
loaded unchanged (only the work directory is this test's); the database is built here
from the original layout (v1) and imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from lute.execution.ipc import Message
from lute.io.db import Database
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


def test_a_sweep_point_without_its_section_is_a_config_error(original_config: Path) -> None:
    """The original warned and ran on the defaults: a misspelt point went unnoticed."""
    done = lute_exec(["run", "-c", str(original_config), "-t", "Tester_7"])
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert "no section 'Test_7' for managed task 'Tester_7'" in done.stderr, done.stderr
    assert "launched" not in done.stdout
    assert not (original_config.parent / "work" / "lute.db").exists()
    # A point given only on the command line has its section.
    given = lute_exec(["run", "-c", str(original_config), "-t", "Tester_7", "Test_7.float_var=2"])
    assert given.returncode == 0, given.stderr
    # The base section's name is not the point's: said, not silently dropped.
    base = lute_exec(["run", "-c", str(original_config), "-t", "Tester_7", "Test.float_var=2"])
    assert base.returncode == 2 and "Traceback" not in base.stderr, base.stderr
    assert (
        "command line: Test.float_var: cannot set 'Test.float_var=2': a sweep point reads "
        "its own section 'Test_7', not 'Test': write Test_7.float_var=..." in base.stderr
    )


@pytest.mark.parametrize("variable", ["LUTE_DEBUG_EXIT_AT_YAML", "LUTE_DEBUG_BEFORE_TPP_EXEC"])
def test_the_original_debug_exits_make_a_dry_run_and_say_so(
    original_config: Path, variable: str
) -> None:
    """The original stopped before its Task ran: so does this, showing what --dry-run does."""
    done = lute_exec(["run", "-c", str(original_config), "-t", "Tester"], env={variable: "1"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "lute-exec: %s: the original LUTE's, not used here; lute-exec run --dry-run shows "
        "the same, so this is a dry run (nothing launched or written)" % variable
    ]
    args = ["run", "-c", str(original_config), "-t", "Tester", "--dry-run"]
    dry = lute_exec(args, env={variable: "1"})
    assert dry.stderr == ""  # asked for: nothing to say
    assert done.stdout == dry.stdout and "Command:" in done.stdout
    assert not (original_config.parent / "work" / "lute.db").exists()


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


# TASK_LOG on the Executor side ---------------------------------------------------------


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


# An original (v1) database, through the command --------------------------------------


def test_lute_exec_db_import(tmp_path: Path) -> None:
    from tests.runtime.test_db_original import build_original_database

    original = tmp_path / "old" / "lute.db"
    original.parent.mkdir()
    build_original_database(original)
    target = tmp_path / "work" / "lute.db"
    done = lute_exec(["db", "import", str(original), "--into", str(target)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 5 executions from %s into %s" % (original, target))
    again = lute_exec(["db", "import", str(original), "--into", str(target)])
    assert again.stdout.startswith("imported 0 executions")  # nothing twice
    other = tmp_path / "other.db"
    scripted = lute_exec(["db", "import", str(original), "--into", str(other), "--json"])
    assert scripted.returncode == 0, scripted.stderr
    answer = json.loads(scripted.stdout)
    assert answer == {"source": str(original), "into": str(other), "imported": [1, 2, 3, 4, 5]}
    listed = lute_exec(["db", "list", "--db", str(target)])
    assert listed.returncode == 0 and "TestWriteOutput" in listed.stdout
    refused = lute_exec(["db", "list", "-w", str(original.parent)])
    assert refused.returncode == 2
    assert "lute-exec db import %s" % original in refused.stderr
    same = lute_exec(["db", "import", str(original), "--into", str(original)])
    assert same.returncode == 2 and "another file" in same.stderr
