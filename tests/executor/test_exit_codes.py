"""Every row of lute-exec's exit-code table, each from a real run of the command.

Bad input gets one line naming what is wrong and exit code 2, never a traceback and
never 1 (which means: the Task FAILED).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Dict, List

import pytest

from lute.execution.outcome import EXIT_CODE_TABLE
from tests.conftest import install_distribution, lute_exec, popen_lute_exec, write_config
from tests.executor.test_run import _wait_for_status, executions


def _one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("lute-exec: ")]
    assert lines, stderr
    return lines[0]


def test_the_table_is_in_the_help() -> None:
    helped = lute_exec(["--help"]).stdout
    for code, meaning in EXIT_CODE_TABLE:
        assert "\n  %-4d %s" % (code, meaning.split()[0]) in helped


def test_0_completed_and_1_failed(config: Path) -> None:
    assert lute_exec(["run", "-c", str(config), "-t", "Tester"]).returncode == 0
    failed = lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.throw_error=true"])
    assert failed.returncode == 1


def test_124_timedout_and_130_cancelled(short_tmp: Path) -> None:
    config = write_config(short_tmp, timeout=1)
    slow = ["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=30"]
    assert lute_exec(slow).returncode == 124
    proc = popen_lute_exec([*slow, "lute_config.task_timeout=60"])
    _wait_for_status(short_tmp / "work", "RUNNING")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130


@pytest.mark.parametrize(
    "case",
    [
        "binary config",
        "missing config",
        "unknown managed task",
        "database is not a database",
        "database is malformed",
        "bad variable",
        "bad option",
    ],
)
def test_2_bad_input_of_run_records_nothing(short_tmp: Path, case: str) -> None:
    config = write_config(short_tmp)
    work = short_tmp / "work"
    args: List[str] = ["run", "-c", str(config), "-t", "Tester"]
    env: Dict[str, str] = {}
    expected = ""
    if case == "binary config":
        config.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
        expected = "not UTF-8"
    elif case == "missing config":
        args[2] = str(short_tmp / "nowhere.yaml")
        expected = "nowhere.yaml"
    elif case == "unknown managed task":
        args[4] = "Testerr"
        expected = "Did you mean: Tester"
    elif case.startswith("database"):
        work.mkdir()
        garbage = b"this is no database" if "not" in case else b"SQLite format 3\x00" + b"x" * 4000
        (work / "lute.db").write_bytes(garbage)
        expected = "lute.db"
    elif case == "bad variable":
        env = {"LUTE_MPI_RANKS": "many", "LUTE_MPI_LAUNCHER": "", "LUTE_USE_ZMQ": "perhaps"}
        expected = "LUTE_USE_ZMQ='perhaps'"
    elif case == "bad option":
        args += ["--timeout", "-3"]
        expected = "--timeout"
    done = lute_exec(args, env=env)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert expected in done.stderr, done.stderr
    if not case.startswith("database"):
        assert not (work / "lute.db").exists()


def test_2_a_task_without_a_parameter_model_says_what_to_add(short_tmp: Path) -> None:
    site = install_distribution(
        short_tmp / "site",
        "lute-modelless",
        {
            "lute.tasks": {"Oops": "lute_oops:Oops"},
            "lute.managed_tasks": {"Ooper": "lute_oops:Ooper"},
        },
        {
            "lute_oops": "from lute.execution.executor import Executor\n"
            "from lute.tasks.task import Task\n\n\nclass Oops(Task):\n"
            "    def _run(self):\n        pass\n\n\nOoper = Executor('Oops')\n"
        },
    )
    config = write_config(short_tmp, "Oops: {}\n")
    done = lute_exec(["run", "-c", str(config), "-t", "Ooper"], env={"PYTHONPATH": str(site)})
    assert done.returncode == 2, done.stderr
    line = _one_clean_line(done.stderr)
    assert "no parameter model for Task 'Oops'" in line
    assert '[project.entry-points."lute.models"]' in done.stderr
    assert 'Oops = "your_package.models:OopsParameters"' in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["db", "list", "--status", "BOGUS"], "unknown status 'BOGUS'"),
        (["db", "show", "999"], "999"),
        (["describe", "NoSuchTask"], "NoSuchTask"),
    ],
)
def test_2_bad_input_of_the_other_commands(config: Path, args: List[str], expected: str) -> None:
    lute_exec(["run", "-c", str(config), "-t", "Tester"])
    if args[0] == "db":
        args = [*args, "-w", str(config.parent / "work")]
    done = lute_exec(args)
    assert done.returncode == 2, done.stderr
    assert expected in _one_clean_line(done.stderr)


def test_2_db_list_of_a_broken_database(short_tmp: Path) -> None:
    (short_tmp / "lute.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    done = lute_exec(["db", "list", "-w", str(short_tmp)])
    assert done.returncode == 2
    assert "lute.db" in _one_clean_line(done.stderr)


def test_3_an_internal_error_is_one_line_and_a_saved_traceback(
    short_tmp: Path, private_cache_home: Path
) -> None:
    site = install_distribution(
        short_tmp / "site",
        "lute-buggy",
        {"lute.managed_tasks": {"Buggy": "lute_buggy:Buggy"}},
        {
            "lute_buggy": "from lute.execution.executor import Executor\n\n\n"
            "class BuggyExecutor(Executor):\n"
            "    def task_argv(self, python, parameters, path=None):\n"
            "        raise ZeroDivisionError('a bug in a plug-in')\n\n\n"
            "Buggy = BuggyExecutor('Test')\n"
        },
    )
    config = write_config(short_tmp)
    done = lute_exec(["run", "-c", str(config), "-t", "Buggy"], env={"PYTHONPATH": str(site)})
    assert done.returncode == 3, done.stderr
    line = _one_clean_line(done.stderr)
    assert line == "lute-exec: internal error: ZeroDivisionError: a bug in a plug-in"
    saved = sorted((private_cache_home / "lute" / "crashes").glob("lute-exec-*.txt"))
    assert saved and "Traceback" in saved[-1].read_text()
    assert str(saved[-1]) in done.stderr
    assert executions(short_tmp / "work") == []


def test_2_an_unknown_tasklet_placeholder_is_refused_before_launch(short_tmp: Path) -> None:
    site = install_distribution(
        short_tmp / "site",
        "lute-tasklety",
        {"lute.managed_tasks": {"Tasklety": "lute_tasklety:Tasklety"}},
        {
            "lute_tasklety": "from lute.execution.executor import Executor\n\n"
            "Tasklety = Executor('Test')\n"
            "Tasklety.add_tasklet(print, ('{no_such.param}',), when='after')\n"
        },
    )
    config = write_config(short_tmp)
    done = lute_exec(["run", "-c", str(config), "-t", "Tasklety"], env={"PYTHONPATH": str(site)})
    assert done.returncode == 2, (done.returncode, done.stderr)
    line = _one_clean_line(done.stderr)
    assert "after tasklet print" in line and "no_such.param" in line, line
    assert "float_var=" not in done.stdout  # the Task never ran
    work = short_tmp / "work"
    assert not (work / "lute.db").exists()
    assert not work.exists() or [p for p in work.rglob("*") if p.is_file()] == []
